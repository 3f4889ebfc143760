import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { GenkitError, z } from 'genkit';
import { generatedPaths, REPO_ROOT } from '../grpc/generated-paths.js';
import { MessageConverter } from '../grpc/message-converter.js';
import { EMPTY_LOCK, parseLock } from '../grpc/proto-lock.js';
import { buildServiceModel, type FlowSchemas } from '../grpc/service-model.js';
import { checkGenerated } from '../scripts/proto/check-generated.js';
import { buf, runCodegen } from '../scripts/proto/codegen.js';
import { generateProto } from '../scripts/proto/generate-proto.js';

const git = promisify(execFile);

/** One schema per mapping rule. */
const FixtureInput = z.object({
  text: z.string().describe('A plain string.'),
  ratio: z.number(),
  small: z.number().int().min(0).max(100),
  big: z.number().int().min(0).max(2 ** 40),
  unbounded: z.number().int(),
  flag: z.boolean(),
  mood: z.enum(['happy', 'sad', 'c++']).describe('How it feels.'),
  tags: z.array(z.string()),
  nested: z.object({ inner: z.object({ label: z.string() }) }),
  counts: z.record(z.number().int().min(0).max(10)),
  maybe: z.string().optional(),
  nullableNumber: z.number().nullable(),
  withDefault: z.string().default('x'),
  anything: z.any(),
  unknownValue: z.unknown(),
  either: z.union([z.string(), z.number()]),
});

const FIXTURE_FLOW: FlowSchemas = {
  name: 'fixtureFlow',
  description: 'Exercises every mapping rule.',
  inputSchema: FixtureInput,
  outputSchema: z.string().describe('A bare string result.'),
  streamSchema: z.object({ step: z.number().int().min(0).max(9) }),
};

/** A project root in a temp dir: buf configs, vendored protos, node_modules (symlink) and, optionally, a copy of generated/. */
async function tempProject(withGenerated: boolean): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'codegen-'));
  await cp(join(REPO_ROOT, 'buf.yaml'), join(root, 'buf.yaml'));
  await cp(join(REPO_ROOT, 'buf.gen.yaml'), join(root, 'buf.gen.yaml'));
  await cp(join(REPO_ROOT, 'proto'), join(root, 'proto'), { recursive: true });
  await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  if (withGenerated) await cp(join(REPO_ROOT, 'generated'), join(root, 'generated'), { recursive: true });
  return root;
}

async function treeHash(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(dir, path)] = createHash('sha256').update(await readFile(path)).digest('hex');
  }
  return out;
}

describe('codegen: Zod → proto mapping (fixture schema)', () => {
  const { proto } = generateProto([FIXTURE_FLOW], EMPTY_LOCK);
  const lines = proto.split('\n').map((l) => l.trim());
  const has = (line: string) => assert.ok(lines.includes(line), `proto has "${line}"\n${proto}`);

  it('maps scalars: string, number → double, bounded int → int32, wide or unbounded int → int64, boolean', () => {
    has('string text = 1;');
    has('double ratio = 2;');
    has('int32 small = 3;');
    has('int64 big = 4;');
    has('int64 unbounded = 5;');
    has('bool flag = 6;');
  });

  it('maps a Zod enum to a proto enum with <ENUM>_UNSPECIFIED = 0 and prefixed values', () => {
    has('FixtureFlowRequestMood mood = 7;');
    has('enum FixtureFlowRequestMood {');
    has('FIXTURE_FLOW_REQUEST_MOOD_UNSPECIFIED = 0;');
    has('FIXTURE_FLOW_REQUEST_MOOD_HAPPY = 1;');
    has('FIXTURE_FLOW_REQUEST_MOOD_SAD = 2;');
    has('FIXTURE_FLOW_REQUEST_MOOD_C_PLUS_PLUS = 3;');
  });

  it('maps arrays to repeated, nested objects to messages named after their path, records to maps', () => {
    has('repeated string tags = 8;');
    has('FixtureFlowRequestNested nested = 9;');
    has('message FixtureFlowRequestNested {');
    has('FixtureFlowRequestNestedInner inner = 1;');
    has('message FixtureFlowRequestNestedInner {');
    has('map<string, int32> counts = 10;');
  });

  it('keeps presence for optional, nullable and defaulted fields', () => {
    has('optional string maybe = 11;');
    has('optional double nullable_number = 12;');
    has('optional string with_default = 13;');
  });

  it('maps any, unknown and unions to google.protobuf.Value', () => {
    has('import "google/protobuf/struct.proto";');
    has('google.protobuf.Value anything = 14;');
    has('google.protobuf.Value unknown_value = 15;');
    has('google.protobuf.Value either = 16;');
  });

  it('wraps a non-object output in a message with a `value` field', () => {
    const response = proto.slice(proto.indexOf('message FixtureFlowResponse {'));
    assert.match(response, /^message FixtureFlowResponse \{\n {2}\/\/ A bare string result\.\n {2}string value = 1;\n\}/);
  });

  it('turns .describe() into field comments and the flow description into the RPC comment', () => {
    assert.match(proto, /\/\/ A plain string\.\n {2}string text = 1;/);
    assert.match(proto, /\/\/ How it feels\.\n {2}FixtureFlowRequestMood mood = 7;/);
    assert.match(proto, /\/\/ Exercises every mapping rule\.\n {2}rpc FixtureFlow\(FixtureFlowRequest\) returns \(FixtureFlowResponse\);/);
  });

  it('adds a server-streaming <Flow>Stream RPC whose messages are a oneof {chunk, result}', () => {
    has('rpc FixtureFlowStream(FixtureFlowRequest) returns (stream FixtureFlowStreamResponse);');
    assert.match(proto, /message FixtureFlowStreamResponse \{\n {2}oneof event \{\n(?: {4}\/\/.*\n)? {4}FixtureFlowStreamChunk chunk = 1;\n(?: {4}\/\/.*\n)? {4}FixtureFlowResponse result = 2;\n {2}\}\n\}/);
  });

  it('is deterministic: the same schemas give the same bytes', () => {
    assert.equal(generateProto([FIXTURE_FLOW], EMPTY_LOCK).proto, proto);
  });
});

describe('codegen: wire stability across add, remove and reorder', () => {
  const flow = (shape: z.ZodRawShape): FlowSchemas => ({ name: 'evolving', inputSchema: z.object(shape), outputSchema: z.object({ ok: z.boolean() }) });
  const v1 = generateProto([flow({ a: z.string(), b: z.string(), c: z.enum(['x', 'y', 'z']) })], EMPTY_LOCK);
  const v2 = generateProto([flow({ c: z.enum(['z', 'x', 'y']), d: z.number(), a: z.string(), b: z.string() })], v1.lock);
  const v3 = generateProto([flow({ c: z.enum(['x', 'z']), d: z.number(), a: z.string() })], v2.lock);
  const v4 = generateProto([flow({ c: z.enum(['x', 'z']), d: z.number(), a: z.string(), e: z.string(), b: z.string() })], v3.lock);

  it('numbers new fields after every number ever used, and never renumbers on reorder', () => {
    assert.deepEqual(v1.lock.messages.EvolvingRequest, { numbers: { a: 1, b: 2, c: 3 }, reserved: {} });
    assert.deepEqual(v2.lock.messages.EvolvingRequest, { numbers: { c: 3, d: 4, a: 1, b: 2 }, reserved: {} });
    assert.deepEqual(v2.lock.enums.EvolvingRequestC, { numbers: { z: 3, x: 1, y: 2 }, reserved: {} });
  });

  it('reserves the number and name of a removed field or enum value', () => {
    assert.deepEqual(v3.lock.messages.EvolvingRequest, { numbers: { c: 3, d: 4, a: 1 }, reserved: { b: 2 } });
    assert.match(v3.proto, /message EvolvingRequest \{\n {2}reserved 2;\n {2}reserved "b";\n/);
    assert.deepEqual(v3.lock.enums.EvolvingRequestC, { numbers: { x: 1, z: 3 }, reserved: { y: 2 } });
    assert.match(v3.proto, /reserved 2;\n {2}reserved "EVOLVING_REQUEST_C_Y";/);
  });

  it('gives a field that comes back its old number, and a new field a fresh one', () => {
    assert.deepEqual(v4.lock.messages.EvolvingRequest, { numbers: { c: 3, d: 4, a: 1, b: 2, e: 5 }, reserved: {} });
  });

  it('passes buf lint and buf breaking (WIRE_JSON) across add, reorder and remove; renumbering or un-reserving is caught', async () => {
    const root = await tempProject(false);
    try {
      // Each version is its own module, with the project's lint and breaking rules.
      // (The vendored google/rpc module is not part of these single-file modules.)
      const config = (await readFile(join(REPO_ROOT, 'buf.yaml'), 'utf8'))
        .replace('path: generated/proto', 'path: .')
        .split('\n')
        .filter((line) => !/proto\/vendor|^\s*ignore:\s*$/.test(line))
        .join('\n');
      const write = async (dir: string, proto: string) => {
        await mkdir(join(root, dir, 'genkit/flows/v1'), { recursive: true });
        await writeFile(join(root, dir, 'genkit/flows/v1/flows.proto'), proto);
        await writeFile(join(root, dir, 'buf.yaml'), config);
      };
      await write('v1', v1.proto);
      await write('v2', v2.proto);
      await write('v3', v3.proto);
      await write('v4', v4.proto);
      await write('renumbered', generateProto([flow({ c: z.enum(['x', 'z']), d: z.number(), a: z.string() })], EMPTY_LOCK).proto);
      for (const dir of ['v1', 'v2', 'v3', 'v4']) await buf(root, ['lint', dir]);
      await buf(root, ['breaking', 'v2', '--against', 'v1']);
      await buf(root, ['breaking', 'v3', '--against', 'v2']);
      // A field that comes back takes its old number and leaves `reserved`: wire-safe for the
      // same type, but buf reports the un-reserving, so a human confirms it in review.
      await assert.rejects(buf(root, ['breaking', 'v4', '--against', 'v3']), /reserved name "b" on message "EvolvingRequest" was deleted/);
      await assert.rejects(buf(root, ['breaking', 'renumbered', '--against', 'v2']), /changed from "3" to "1"|number|type/i);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('codegen: the full pipeline (buf generate with local ts-proto)', () => {
  let root: string;
  before(async () => {
    root = await tempProject(false);
    await runCodegen(root, [FIXTURE_FLOW]);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is deterministic: a second run changes no byte', async () => {
    const first = await treeHash(join(root, 'generated'));
    await runCodegen(root, [FIXTURE_FLOW]);
    assert.deepEqual(await treeHash(join(root, 'generated')), first);
    assert.ok(Object.keys(first).includes('ts/genkit/flows/v1/flows.ts'));
    assert.ok(Object.keys(first).includes('ts/google/protobuf/struct.ts'));
    assert.ok(Object.keys(first).includes('descriptor-set.binpb'));
  });

  it('writes a DO-NOT-EDIT header on every generated source', async () => {
    const paths = generatedPaths(root);
    assert.match(await readFile(paths.protoFile, 'utf8'), /^\/\/ Code generated by .* DO NOT EDIT\./);
    assert.match(await readFile(join(root, 'generated/ts/genkit/flows/v1/flows.ts'), 'utf8'), /^\/\/ Code generated by protoc-gen-ts_proto\. DO NOT EDIT\./);
  });

  it('round-trips through the generated code: presence, enums, int64, maps and Value', async () => {
    type Codec = { encode(m: object): { finish(): Uint8Array }; decode(b: Uint8Array): Record<string, unknown>; fromPartial(o: object): object };
    const module = (await import(pathToFileURL(join(root, 'generated/ts/genkit/flows/v1/flows.ts')).href)) as Record<string, Codec>;
    const Request = module.FixtureFlowRequest!;
    const service = buildServiceModel([FIXTURE_FLOW]);
    const converter = new MessageConverter(service.schema, parseLock(await readFile(generatedPaths(root).lockFile, 'utf8')));

    const wire = (message: object) => Request.decode(Request.encode(Request.fromPartial(message)).finish());
    const json = converter.toFlowJson('FixtureFlowRequest', wire({
      text: '',
      small: 0,
      big: 1_099_511_627_776n,
      mood: 3,
      counts: { a: 2 },
      either: 7,
      anything: { deep: [1, 'two'] },
      nested: { inner: { label: 'L' } },
    })) as Record<string, unknown>;
    assert.equal(json.text, '', 'a required string keeps its zero value');
    assert.equal(json.big, 1_099_511_627_776);
    assert.equal(json.mood, 'c++');
    assert.deepEqual(json.counts, { a: 2 });
    assert.equal(json.either, 7);
    assert.deepEqual(json.anything, { deep: [1, 'two'] });
    assert.deepEqual(json.nested, { inner: { label: 'L' } });
    assert.equal('maybe' in json, false, 'an unset optional stays absent');
    assert.equal(json.nullableNumber, null, 'an unset nullable (not optional) field is null');
    assert.equal('withDefault' in json, false, 'so its schema default applies');
    assert.equal(FixtureInput.parse(json).withDefault, 'x');

    assert.throws(
      () => converter.toFlowJson('FixtureFlowRequest', wire({ unbounded: 2n ** 62n })),
      (e: unknown) => e instanceof GenkitError && e.status === 'INVALID_ARGUMENT' && /unbounded/.test(e.message),
    );
    const encoded = converter.fromFlowJson('FixtureFlowResponse', 'bare');
    assert.deepEqual(encoded, { value: 'bare' });
  });
});

describe('codegen: buf lint and the drift check on the real flows', () => {
  it('buf lint passes on generated/proto', async () => {
    assert.equal((await buf(REPO_ROOT, ['lint'])).trim(), '');
  });

  it('the drift check fails on a stale generated/ and names the command that fixes it', async () => {
    const root = await tempProject(true);
    try {
      await git('git', ['init', '-q'], { cwd: root });
      const proto = generatedPaths(root).protoFile;
      await writeFile(proto, (await readFile(proto, 'utf8')).replace('string joke = 1;', 'string joke = 1;\n  string stale = 99;'));
      await rm(join(root, 'generated/ts/genkit/flows/v1/flows.ts'));
      await git('git', ['add', '-A'], { cwd: root });
      await git('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'stale'], { cwd: root });

      const stale = await checkGenerated(root);
      assert.equal(stale.ok, false);
      assert.match(stale.report, /Run `npm run gen`/);
      assert.match(stale.report, /generated\/proto\/genkit\/flows\/v1\/flows\.proto/);
      assert.match(stale.report, /generated\/ts\/genkit\/flows\/v1\/flows\.ts/);

      await git('git', ['add', '-A'], { cwd: root });
      await git('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'fresh'], { cwd: root });
      assert.deepEqual(await checkGenerated(root), { ok: true, report: 'generated/ is up to date with the flows.' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
