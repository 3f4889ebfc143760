import { after, before } from 'node:test';
import { credentials, Metadata, type CallOptions, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import * as generated from '../../generated/ts/genkit/flows/v1/flows.js';
import { FlowServiceClient } from '../../generated/ts/genkit/flows/v1/flows.js';

/**
 * Builds a complete request message the way a ts-proto user does
 * (`<Rpc>Request.fromPartial`, e.g. TellJokeStreamRequest for tellJokeStream):
 * unset required fields become proto3 zero values.
 */
export function requestFor(method: string, data: object): object {
  const name = `${method.charAt(0).toUpperCase()}${method.slice(1)}Request`;
  const message = (generated as unknown as Record<string, { fromPartial?: (o: object) => object }>)[name];
  if (!message?.fromPartial) throw new Error(`No generated message ${name}`);
  return message.fromPartial(data);
}

/** The generated ts-proto client, dialled at 127.0.0.1. */
export function flowClient(port: number): FlowServiceClient {
  return new FlowServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
}

type UnaryMethod = (
  request: object,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response?: unknown) => void,
) => unknown;
type StreamMethod = (request: object, metadata: Metadata, options: Partial<CallOptions>) => ClientReadableStream<unknown>;

export interface CallSettings {
  metadata?: Record<string, string>;
  /** Deadline in ms from now. */
  deadlineMs?: number;
}

function prepare(settings: CallSettings): [Metadata, Partial<CallOptions>] {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(settings.metadata ?? {})) metadata.set(key, value);
  const options: Partial<CallOptions> = settings.deadlineMs === undefined ? {} : { deadline: Date.now() + settings.deadlineMs };
  return [metadata, options];
}

/** Calls a unary RPC by its ts-proto method name (e.g. "tellJoke"). */
export function callUnary(client: FlowServiceClient, method: string, request: object, settings: CallSettings = {}): Promise<unknown> {
  const fn = (client as unknown as Record<string, UnaryMethod>)[method];
  if (!fn) throw new Error(`The generated client has no method ${method}`);
  const [metadata, options] = prepare(settings);
  return new Promise((resolve, reject) => {
    fn.call(client, requestFor(method, request), metadata, options, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

/** Starts a server-streaming RPC by its ts-proto method name (e.g. "tellJokeStream"). */
export function callStream(client: FlowServiceClient, method: string, request: object, settings: CallSettings = {}) {
  const fn = (client as unknown as Record<string, StreamMethod>)[method];
  if (!fn) throw new Error(`The generated client has no method ${method}`);
  const [metadata, options] = prepare(settings);
  return fn.call(client, requestFor(method, request), metadata, options);
}

/** Reads a whole stream: every message in order, or the error status it ended with. */
export async function collect(stream: ClientReadableStream<unknown>): Promise<unknown[]> {
  const messages: unknown[] = [];
  for await (const message of stream) messages.push(message);
  return messages;
}

/** Drops `undefined` properties (ts-proto's unset optionals) for deep comparison with JSON. */
export function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, withoutUndefined(v)]),
    );
  }
  return value;
}

/**
 * The usual suite fixture: a real server (REST + gRPC) and a generated gRPC
 * client, started before the suite and fully closed after it.
 */
export function useServerWithClient<S extends { grpcPort: number | null; close(): Promise<void> }>(
  start: () => Promise<S>,
  receive: (server: S, client: FlowServiceClient) => void,
): void {
  let server: S | undefined;
  let client: FlowServiceClient | undefined;
  before(async () => {
    server = await start();
    client = flowClient(server.grpcPort!);
    receive(server, client);
  });
  after(async () => {
    client?.close();
    await server?.close();
  });
}
