import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runFlow, streamFlow } from 'genkit/beta/client';
import { upperSnakeCase } from '../grpc/naming.js';
import { buildServiceModel, type ServiceModel } from '../grpc/service-model.js';
import { REPO_ROOT } from '../grpc/generated-paths.js';
import type { FieldModel } from '../grpc/schema-model.js';
import { registryFlowSchemas } from '../scripts/proto/codegen.js';
import { VALID_INPUTS } from './support/flow-inputs.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/**
 * A client in another language, generated from generated/proto with standard
 * Debian tools (protoc 3.21 from protobuf-compiler, grpc_python_plugin from
 * protobuf-compiler-grpc, grpcio from python3-grpcio for /usr/bin/python3):
 * every RPC agrees with REST, a stream ends with its result, a deadline ends
 * in DEADLINE_EXCEEDED and bad input in INVALID_ARGUMENT. Skipped, with the
 * reason, where those packages are missing (`.ci/run` installs them).
 */

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const CLIENT = join(REPO_ROOT, 'tests/support/python_flow_client.py');

async function missingTools(): Promise<string | undefined> {
  if (!existsSync(PYTHON)) return `${PYTHON} not found (Debian package python3)`;
  for (const [tool, pkg] of [
    ['protoc', 'protobuf-compiler'],
    ['grpc_python_plugin', 'protobuf-compiler-grpc'],
  ]) {
    if (!(await run('sh', ['-c', `command -v ${tool}`]).then(() => true, () => false))) return `${tool} not found (Debian package ${pkg})`;
  }
  const imports = await run(PYTHON, ['-c', 'import grpc, google.protobuf']).then(() => true, () => false);
  return imports ? undefined : `${PYTHON} cannot import grpc (Debian package python3-grpcio)`;
}

const skip = await missingTools();

interface Step {
  rpc: string;
  request: Record<string, unknown>;
  stream?: boolean;
  timeout?: number;
}
type Outcome = { response?: Record<string, unknown>; messages?: Record<string, unknown>[]; code?: string; details?: string };

/** Runs the Python client with a plan of calls; returns one outcome per call. */
function python(stubs: string, target: string, plan: Step[]): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [CLIENT, stubs, target], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as Outcome[]);
      else reject(new Error(`python client exited ${code}: ${err}`));
    });
    child.stdin.end(JSON.stringify(plan));
  });
}

/** What proto JSON (MessageToDict, all fields) should show for a flow's JSON: enum names, zero values filled in. */
function protoJson(service: ServiceModel, messageName: string, json: Record<string, unknown>): Record<string, unknown> {
  const message = service.schema.messages.get(messageName)!;
  const out: Record<string, unknown> = {};
  for (const field of message.fields) {
    const value = json[field.jsonName];
    if (value === undefined || value === null) {
      const zero = zeroOf(field);
      if (!field.optional && !field.oneof && zero !== undefined) out[field.jsonName] = zero;
      continue;
    }
    const one = (v: unknown): unknown => {
      if (field.type.kind === 'enum') return `${upperSnakeCase(field.type.enumName.split('.').at(-1)!)}_${upperSnakeCase(v as string)}`;
      if (field.type.kind === 'message') return protoJson(service, field.type.messageName, v as Record<string, unknown>);
      if (field.type.kind === 'scalar' && field.type.scalar === 'int64') return String(v);
      return v;
    };
    out[field.jsonName] = field.repeated ? (value as unknown[]).map(one) : one(value);
  }
  return out;
}

function zeroOf(field: FieldModel): unknown {
  if (field.repeated) return [];
  if (field.map) return {};
  if (field.type.kind === 'enum') return `${upperSnakeCase(field.type.enumName.split('.').at(-1)!)}_UNSPECIFIED`;
  if (field.type.kind !== 'scalar') return undefined;
  return { string: '', bool: false, double: 0, int32: 0, int64: '0' }[field.type.scalar];
}

describe('a Python client generated from generated/proto with Debian protoc + grpc_python_plugin', { skip }, () => {
  let server: TestServer;
  let stubs: string;
  let target: string;
  const service = buildServiceModel(registryFlowSchemas());

  before(async () => {
    stubs = await mkdtemp(join(tmpdir(), 'python-stubs-'));
    // protoc ≥ 3.15 (proto3 `optional`); the vendored google/api proto comes from proto/vendor.
    await run('protoc', [
      '-I', join(REPO_ROOT, 'generated/proto'),
      '-I', join(REPO_ROOT, 'proto/vendor'),
      `--python_out=${stubs}`,
      `--grpc_python_out=${stubs}`,
      `--plugin=protoc-gen-grpc_python=${(await run('sh', ['-c', 'command -v grpc_python_plugin'])).stdout.trim()}`,
      'genkit/flows/v1/flows.proto',
      'google/api/field_behavior.proto',
    ]);
    // A slow offline model, so a short deadline expires mid-call.
    server = await startTestServer({ OFFLINE_MODEL_LATENCY_MS: '30' });
    target = `127.0.0.1:${server.grpcPort}`;
  });
  after(async () => {
    await server?.close();
    if (stubs) await rm(stubs, { recursive: true, force: true });
  });

  it('calls every RPC; each unary answer equals REST, each stream relays REST chunks and ends with its result', async () => {
    const plan: Step[] = service.rpcs.map((rpc) => ({ rpc: rpc.rpcName, request: VALID_INPUTS[rpc.flowName] as Record<string, unknown>, stream: rpc.serverStreaming }));
    const outcomes = await python(stubs, target, plan);
    assert.equal(outcomes.length, service.rpcs.length);
    for (const [i, rpc] of service.rpcs.entries()) {
      const outcome = outcomes[i]!;
      const url = `${server.baseUrl}/${rpc.flowName}`;
      const input = VALID_INPUTS[rpc.flowName];
      assert.equal(outcome.code, undefined, `${rpc.rpcName}: ${outcome.code} ${outcome.details}`);
      if (!rpc.serverStreaming) {
        const rest = (await runFlow({ url, input })) as Record<string, unknown>;
        assert.deepEqual(outcome.response, protoJson(service, rpc.responseMessage, rest), rpc.rpcName);
        continue;
      }
      const rest = streamFlow({ url, input });
      const chunks: unknown[] = [];
      for await (const chunk of rest.stream) chunks.push(chunk);
      const result = (await rest.output) as Record<string, unknown>;
      const messages = outcome.messages!;
      assert.deepEqual(messages.slice(0, -1), chunks.map((chunk) => ({ chunk })), `${rpc.rpcName} chunks`);
      const resultMessage = service.schema.messages.get(rpc.responseMessage)!.fields.find((f) => f.jsonName === 'result')!;
      assert.deepEqual(messages.at(-1), { result: protoJson(service, (resultMessage.type as { messageName: string }).messageName, result) });
    }
  });

  it('gets DEADLINE_EXCEEDED when its deadline passes (unary and stream), and INVALID_ARGUMENT for bad input', async () => {
    const [unaryLate, streamLate, tooLong, missing] = await python(stubs, target, [
      { rpc: 'TellStory', request: { topic: 'a slow story' }, timeout: 0.01 },
      { rpc: 'TellStoryStream', request: { topic: 'a slow story' }, stream: true, timeout: 0.05 },
      { rpc: 'TellJoke', request: { name: 'x'.repeat(201) } },
      { rpc: 'GenerateCode', request: { language: 'python' } },
    ]);
    assert.equal(unaryLate!.code, 'DEADLINE_EXCEEDED');
    assert.equal(streamLate!.code, 'DEADLINE_EXCEEDED');
    assert.equal(tooLong!.code, 'INVALID_ARGUMENT');
    assert.match(tooLong!.details!, /name/);
    assert.equal(missing!.code, 'INVALID_ARGUMENT', 'a REQUIRED field left out');
    assert.match(missing!.details!, /description/);
  });

  it('sees the contract annotations: REQUIRED fields and the streaming request type', async () => {
    const { stdout } = await run(PYTHON, [
      '-c',
      [
        'import sys; sys.path.insert(0, sys.argv[1])',
        'from genkit.flows.v1 import flows_pb2',
        'from google.api import field_behavior_pb2',
        'required = lambda m, f: field_behavior_pb2.REQUIRED in m.DESCRIPTOR.fields_by_name[f].GetOptions().Extensions[field_behavior_pb2.field_behavior]',
        'method = flows_pb2.DESCRIPTOR.services_by_name["FlowService"].methods_by_name["TellJokeStream"]',
        'print(required(flows_pb2.GenerateCodeRequest, "description"), required(flows_pb2.TellJokeRequest, "name"), method.input_type.name)',
      ].join('\n'),
      stubs,
    ]);
    assert.equal(stdout.trim(), 'True False TellJokeStreamRequest');
  });
});
