import { createFileRegistry, fromBinary, type DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { credentials, Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DESCRIPTOR_SET } from '../grpc/generated-paths.js';
import * as generated from '../generated/ts/genkit/flows/v1/flows.js';
import { FlowServiceClient, FlowServiceService } from '../generated/ts/genkit/flows/v1/flows.js';

/**
 * `npm run client -- <Rpc> '<json>'`: calls any RPC of the generated
 * FlowService and prints the response (or each streamed message) as proto3
 * JSON, one line per message. Uses only generated code: nothing per flow.
 */

const HELP = `Usage: npm run client -- <Rpc> ['<json request>'] [--address host:port] [--deadline ms] [--header key=value ...]

  <Rpc>        e.g. TellJoke, TellStoryStream (${Object.values(FlowServiceService).length} RPCs; --list shows them)
  --address    gRPC server (default 127.0.0.1:\${GRPC_PORT:-50051})
  --deadline   deadline in ms
  --header     metadata entry, repeatable (e.g. --header authorization="Bearer k")
  --list       list every RPC and exit`;

interface MessageCodec {
  fromJSON(object: unknown): object;
  toJSON(message: never): unknown;
}

const codec = (name: string): MessageCodec => {
  const found = (generated as unknown as Record<string, MessageCodec | undefined>)[name];
  if (!found?.fromJSON) throw new Error(`No generated message ${name}`);
  return found;
};

/** A request message's descriptor, from the buf-built descriptor set (field names, json names, nesting). */
function requestDescriptor(name: string): DescMessage {
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_SET)));
  const message = registry.getMessage(`genkit.flows.v1.${name}`);
  if (!message) throw new Error(`No message genkit.flows.v1.${name} in ${DESCRIPTOR_SET}`);
  return message;
}

/** Every key of `json` (nested messages, lists and maps of messages included) the message does not have, as paths. */
function unknownFields(message: DescMessage, json: unknown, path = ''): string[] {
  if (message.typeName.startsWith('google.protobuf.') || json === null || typeof json !== 'object' || Array.isArray(json)) return [];
  return Object.entries(json as Record<string, unknown>).flatMap(([key, value]) => {
    const field = message.fields.find((f) => f.name === key || f.jsonName === key);
    const at = path ? `${path}.${key}` : key;
    if (!field) return [`${at} (known: ${message.fields.map((f) => f.jsonName).join(', ') || 'none'})`];
    if (field.fieldKind === 'message') return unknownFields(field.message, value, at);
    if (field.fieldKind === 'list' && field.listKind === 'message' && Array.isArray(value)) return value.flatMap((item, i) => unknownFields(field.message, item, `${at}[${i}]`));
    if (field.fieldKind === 'map' && field.mapKind === 'message' && value && typeof value === 'object') {
      return Object.entries(value).flatMap(([k, item]) => unknownFields(field.message, item, `${at}.${k}`));
    }
    return [];
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      address: { type: 'string', default: `127.0.0.1:${process.env.GRPC_PORT ?? '50051'}` },
      deadline: { type: 'string' },
      header: { type: 'string', multiple: true },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const methods = Object.entries(FlowServiceService).map(([method, def]) => ({ method, def, rpc: def.path.split('/').pop()! }));
  if (values.list) {
    for (const { rpc, def } of methods) process.stdout.write(`${rpc}${def.responseStream ? ' (server streaming)' : ''}\n`);
    return 0;
  }
  const [rpcName, json = '{}'] = positionals;
  if (values.help || !rpcName) {
    process.stdout.write(`${HELP}\n`);
    return rpcName ? 0 : 2;
  }
  const entry = methods.find((m) => m.rpc === rpcName || m.method === rpcName);
  if (!entry) {
    process.stderr.write(`Unknown RPC ${rpcName}. Known: ${methods.map((m) => m.rpc).join(', ')}\n`);
    return 2;
  }
  // Every RPC has its own `<Rpc>Request` and `<Rpc>Response` (buf STANDARD lint).
  const input = JSON.parse(json) as unknown;
  // ts-proto's fromJSON drops keys it does not know: a typo would silently become "unset" (a default).
  const unknown = unknownFields(requestDescriptor(`${entry.rpc}Request`), input);
  if (unknown.length > 0) {
    process.stderr.write(`Unknown field${unknown.length > 1 ? 's' : ''} in the ${entry.rpc} request: ${unknown.join(', ')}\n`);
    return 2;
  }
  const request = codec(`${entry.rpc}Request`).fromJSON(input);
  const responseCodec = codec(`${entry.rpc}Response`);

  const metadata = new Metadata();
  for (const header of values.header ?? []) {
    const at = header.indexOf('=');
    if (at > 0) metadata.set(header.slice(0, at).trim().toLowerCase(), header.slice(at + 1));
  }
  const options = values.deadline ? { deadline: Date.now() + Number(values.deadline) } : {};
  const client = new FlowServiceClient(values.address!, credentials.createInsecure());
  const print = (message: unknown) => process.stdout.write(`${JSON.stringify(responseCodec.toJSON(message as never))}\n`);
  const fail = (e: ServiceError) => {
    process.stderr.write(`${JSON.stringify({ code: e.code, details: e.details })}\n`);
    return 1;
  };
  const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[entry.method]!;
  try {
    if (entry.def.responseStream) {
      const stream = fn.call(client, request, metadata, options) as ClientReadableStream<unknown>;
      for await (const message of stream) print(message);
    } else {
      print(
        await new Promise((resolve, reject) =>
          fn.call(client, request, metadata, options, (e: ServiceError | null, r: unknown) => (e ? reject(e) : resolve(r))),
        ),
      );
    }
    return 0;
  } catch (e: unknown) {
    return fail(e as ServiceError);
  } finally {
    client.close();
  }
}

// A reader that stops early (`npm run client -- TellStoryStream … | head -1`) closes the pipe: that ends
// the output, quietly and successfully, as it does for other command-line tools; it is not a crash.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  process.stderr.write(`Cannot write the output: ${e.message}\n`);
  process.exit(2);
});

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
