import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { GenkitError, z } from 'genkit';
import { generatedPaths, REPO_ROOT } from '../grpc/generated-paths.js';
import { MessageConverter } from '../grpc/message-converter.js';
import { EMPTY_LOCK, parseLock, serializeLock, type ProtoLock } from '../grpc/proto-lock.js';
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
  streamSchema: z.object({ step: z.number().int().min(0).max(9) }).describe('One step.'),
};

/** A project root in a temp dir: buf configs, node_modules (symlink) and, optionally, a copy of generated/. */
async function tempProject(withGenerated: boolean): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'codegen-'));
  await cp(join(REPO_ROOT, 'buf.yaml'), join(root, 'buf.yaml'));
  await cp(join(REPO_ROOT, 'buf.gen.yaml'), join(root, 'buf.gen.yaml'));
  await cp(join(REPO_ROOT, 'proto/vendor'), join(root, 'proto/vendor'), { recursive: true });
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
  const REQUIRED = '[(google.api.field_behavior) = REQUIRED]';

  it('maps scalars: string, number → double, bounded int → int32, wide or unbounded int → int64, boolean', () => {
    has(`string text = 1 ${REQUIRED};`);
    has(`double ratio = 2 ${REQUIRED};`);
    has(`int32 small = 3 ${REQUIRED};`);
    has(`int64 big = 4 ${REQUIRED};`);
    has(`int64 unbounded = 5 ${REQUIRED};`);
    has(`bool flag = 6 ${REQUIRED};`);
  });

  it('maps a Zod enum to an enum nested in its message, with <ENUM>_UNSPECIFIED = 0 and prefixed values', () => {
    has(`Mood mood = 7 ${REQUIRED};`);
    assert.match(proto, /message FixtureFlowRequest \{\n(?:.*\n)*? {2}enum Mood \{\n/);
    has('MOOD_UNSPECIFIED = 0;');
    has('MOOD_HAPPY = 1;');
    has('MOOD_SAD = 2;');
    has('MOOD_C_PLUS_PLUS = 3;');
  });

  it('maps arrays to repeated, nested objects to messages nested in their parent, records to maps', () => {
    has('repeated string tags = 8;');
    has(`Nested nested = 9 ${REQUIRED};`);
    assert.match(proto, /message FixtureFlowRequest \{\n(?:.*\n)*? {2}message Nested \{\n(?:.*\n)*? {4}message Inner \{\n/);
    has(`Inner inner = 1 ${REQUIRED};`);
    has('map<string, int32> counts = 10;');
  });

  it('keeps presence for optional, nullable and defaulted fields, which are not REQUIRED', () => {
    has('optional string maybe = 11;');
    has('optional double nullable_number = 12;');
    has('optional string with_default = 13;');
  });

  it('maps any, unknown and unions to google.protobuf.Value (any and unknown may be left out)', () => {
    has('import "google/protobuf/struct.proto";');
    has('google.protobuf.Value anything = 14;');
    has('google.protobuf.Value unknown_value = 15;');
    has(`google.protobuf.Value either = 16 ${REQUIRED};`);
  });

  it('annotates REQUIRED only in requests, and imports the vendored field_behavior proto', () => {
    has('import "google/api/field_behavior.proto";');
    const response = proto.slice(proto.indexOf('message FixtureFlowResponse {'), proto.indexOf('message FixtureFlowStreamRequest {'));
    assert.doesNotMatch(response, /REQUIRED/);
  });

  it('wraps a non-object output in a message with a `value` field', () => {
    const response = proto.slice(proto.indexOf('message FixtureFlowResponse {'));
    assert.match(response, /^message FixtureFlowResponse \{\n {2}\/\/ A bare string result\.\n {2}string value = 1;\n\}/);
  });

  it('turns .describe() into comments, and writes each default and limit from Zod into the field comment', () => {
    assert.match(proto, /\/\/ A plain string\.\n {2}string text = 1/);
    assert.match(proto, /\/\/ How it feels\.\n {2}Mood mood = 7/);
    assert.match(proto, /\/\/ Default: "x"\.\n {2}optional string with_default = 13;/);
    assert.match(proto, /\/\/ At least 0\. At most 100\.\n {2}int32 small = 3/);
    const joke = generateProto([{ name: 'joke', inputSchema: z.object({ name: z.string().max(200).default('Mittens').describe('Who.') }) }], EMPTY_LOCK);
    assert.match(joke.proto, / {2}\/\/ Who\.\n {2}\/\/ Default: "Mittens"\. At most 200 characters\.\n {2}optional string name = 1;/);
  });

  it('gives the unary and the streaming RPC their own comments, request and response messages', () => {
    assert.match(proto, /\/\/ Exercises every mapping rule\.\n {2}\/\/ Unary: .*\n {2}rpc FixtureFlow\(FixtureFlowRequest\) returns \(FixtureFlowResponse\);/);
    assert.match(proto, /\/\/ Exercises every mapping rule\.\n {2}\/\/ Server streaming: .*\n {2}rpc FixtureFlowStream\(FixtureFlowStreamRequest\) returns \(stream FixtureFlowStreamResponse\);/);
    // The streaming request has the unary request's fields, sharing its nested types.
    has(`FixtureFlowRequest.Mood mood = 7 ${REQUIRED};`);
  });

  it('streams a oneof {chunk, result}, with the chunk type nested in the stream message', () => {
    assert.match(
      proto,
      /message FixtureFlowStreamResponse \{\n(?: {2}.*\n)*? {2}message Chunk \{\n(?:.*\n)*? {2}oneof event \{\n(?: {4}\/\/.*\n)? {4}Chunk chunk = 1;\n(?: {4}\/\/.*\n)? {4}FixtureFlowResponse result = 2;\n {2}\}\n\}/,
    );
  });

  it('sets the language options other generators need', () => {
    has('option go_package = "genkit-flow-gateway/gen/go/genkit/flows/v1;flowsv1";');
    has('option java_package = "com.genkit.flows.v1";');
    has('option java_multiple_files = true;');
    has('option csharp_namespace = "Genkit.Flows.V1";');
  });

  it('is deterministic: the same schemas give the same bytes', () => {
    assert.equal(generateProto([FIXTURE_FLOW], EMPTY_LOCK).proto, proto);
  });
});

describe('codegen: wire stability across add, remove, reorder and retype', () => {
  const flow = (shape: z.ZodRawShape): FlowSchemas => ({ name: 'evolving', inputSchema: z.object(shape), outputSchema: z.object({ ok: z.boolean() }) });
  const table = (lock: ProtoLock, name: string, kind: 'messages' | 'enums' = 'messages') => {
    const t = lock[kind][name]!;
    return {
      members: Object.fromEntries(t.members.map((m) => [m.name, m.number])),
      reserved: t.reserved.map((m) => `${m.name}=${m.number}`),
    };
  };
  const v1 = generateProto([flow({ a: z.string(), b: z.string(), c: z.enum(['x', 'y', 'z']) })], EMPTY_LOCK);
  const v2 = generateProto([flow({ c: z.enum(['z', 'x', 'y']), d: z.number(), a: z.string(), b: z.string() })], v1.lock);
  const v3 = generateProto([flow({ c: z.enum(['x', 'z']), d: z.number(), a: z.string() })], v2.lock);
  const v4 = generateProto([flow({ c: z.enum(['x', 'z']), d: z.number(), a: z.string(), e: z.string(), b: z.string() })], v3.lock);

  it('numbers new fields after every number ever used, and never renumbers on reorder', () => {
    assert.deepEqual(table(v1.lock, 'EvolvingRequest'), { members: { a: 1, b: 2, c: 3 }, reserved: [] });
    assert.deepEqual(table(v2.lock, 'EvolvingRequest'), { members: { a: 1, b: 2, c: 3, d: 4 }, reserved: [] });
    assert.deepEqual(table(v2.lock, 'EvolvingRequest.C', 'enums'), { members: { x: 1, y: 2, z: 3 }, reserved: [] });
  });

  it('reserves the number and name of a removed field or enum value', () => {
    assert.deepEqual(table(v3.lock, 'EvolvingRequest'), { members: { a: 1, c: 3, d: 4 }, reserved: ['b=2'] });
    assert.match(v3.proto, /message EvolvingRequest \{\n {2}reserved 2;\n {2}reserved "b";\n/);
    assert.deepEqual(table(v3.lock, 'EvolvingRequest.C', 'enums'), { members: { x: 1, z: 3 }, reserved: ['y=2'] });
    assert.match(v3.proto, /reserved 2;\n {4}reserved "C_Y";/);
  });

  it('gives a field that comes back with its old type its old number, and a new field a fresh one', () => {
    assert.deepEqual(table(v4.lock, 'EvolvingRequest'), { members: { a: 1, b: 2, c: 3, d: 4, e: 5 }, reserved: [] });
  });

  it('never hands a number to a field of another type: a removed string field re-added as int64 gets a new number', () => {
    const removed = generateProto([flow({ a: z.string(), c: z.enum(['x', 'y', 'z']) })], v1.lock);
    const readded = generateProto([flow({ a: z.string(), b: z.number().int(), c: z.enum(['x', 'y', 'z']) })], removed.lock);
    assert.deepEqual(table(readded.lock, 'EvolvingRequest'), { members: { a: 1, c: 3, b: 4 }, reserved: ['b=2'] });
    // The name is in use again, so only the number stays reserved (protoc refuses a reserved name in use).
    assert.match(readded.proto, /message EvolvingRequest \{\n {2}reserved 2;\n(?! {2}reserved ")/);
    assert.match(readded.proto, /int64 b = 4 /);
    // Retyped in place (string → double): a new number too; back to string: the old number again.
    const retyped = generateProto([flow({ a: z.number(), b: z.string(), c: z.enum(['x', 'y', 'z']) })], v1.lock);
    assert.deepEqual(table(retyped.lock, 'EvolvingRequest'), { members: { b: 2, c: 3, a: 4 }, reserved: ['a=1'] });
    const back = generateProto([flow({ a: z.string(), b: z.string(), c: z.enum(['x', 'y', 'z']) })], retyped.lock);
    assert.deepEqual(table(back.lock, 'EvolvingRequest'), { members: { a: 1, b: 2, c: 3 }, reserved: ['a=4'] });
  });

  it('is idempotent: a field and an enum value added in the middle give the final lock on the first run', () => {
    const middle = flow({ a: z.string(), m: z.string().optional(), b: z.string(), c: z.enum(['x', 'new', 'y', 'z']) });
    const once = generateProto([middle], v1.lock);
    const twice = generateProto([middle], once.lock);
    assert.equal(serializeLock(twice.lock), serializeLock(once.lock));
    assert.equal(twice.proto, once.proto);
    // Canonical order: members by number, whatever the declaration order.
    assert.deepEqual(once.lock.messages.EvolvingRequest!.members.map((m) => m.name), ['a', 'b', 'c', 'm']);
    assert.deepEqual(once.lock.enums['EvolvingRequest.C']!.members.map((m) => m.name), ['x', 'y', 'z', 'new']);
    // And the serialized lock does not depend on the order messages were registered in.
    const reordered = generateProto([flow({ b: z.string(), c: z.enum(['z', 'y', 'new', 'x']), m: z.string().optional(), a: z.string() })], once.lock);
    assert.equal(serializeLock(reordered.lock), serializeLock(once.lock));
  });

  it('reads a version 1 lock (numbers only) and keeps every number', () => {
    const v1Lock = parseLock(JSON.stringify({ version: 1, messages: { EvolvingRequest: { numbers: { b: 7, a: 3 }, reserved: { gone: 1 } } }, enums: {} }));
    const next = generateProto([flow({ a: z.string(), b: z.number(), n: z.string() })], v1Lock);
    assert.deepEqual(table(next.lock, 'EvolvingRequest'), { members: { n: 2, a: 3, b: 7 }, reserved: ['gone=1'] });
  });

  it('buf lint passes across add, reorder and remove; buf breaking (FILE) flags removals, renames and renumbering', async () => {
    const root = await tempProject(false);
    try {
      // Each version is its own workspace, with the project's buf.yaml (lint and breaking rules) and vendored protos.
      const write = async (dir: string, proto: string) => {
        await mkdir(join(root, dir, 'generated/proto/genkit/flows/v1'), { recursive: true });
        await writeFile(join(root, dir, 'generated/proto/genkit/flows/v1/flows.proto'), proto);
        await cp(join(REPO_ROOT, 'buf.yaml'), join(root, dir, 'buf.yaml'));
        await cp(join(REPO_ROOT, 'proto/vendor'), join(root, dir, 'proto/vendor'), { recursive: true });
      };
      const renamed = generateProto([flow({ c: z.enum(['z', 'x', 'y']), d: z.number(), a: z.string(), bee: z.string() })], v2.lock);
      await write('v1', v1.proto);
      await write('v2', v2.proto);
      await write('v3', v3.proto);
      await write('renamed', renamed.proto);
      await write('renumbered', generateProto([flow({ c: z.enum(['x', 'z']), d: z.number(), a: z.string() })], EMPTY_LOCK).proto);
      for (const dir of ['v1', 'v2', 'v3', 'renamed']) await buf(join(root, dir), ['lint']);
      await buf(join(root, 'v2'), ['breaking', '--against', join(root, 'v1')]);
      await assert.rejects(buf(join(root, 'v3'), ['breaking', '--against', join(root, 'v2')]), /Previously present field "2" with name "b" on message "EvolvingRequest" was deleted/);
      await assert.rejects(buf(join(root, 'renamed'), ['breaking', '--against', join(root, 'v2')]), /field "2" with name "b" on message "EvolvingRequest" was deleted/);
      await assert.rejects(buf(join(root, 'renumbered'), ['breaking', '--against', join(root, 'v2')]), /changed from "3" to "1"|number|type/i);
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

  it('is idempotent: after a field and an enum value are added in the middle, one run gives the final tree', async () => {
    const base = FixtureInput.extend({ mood: z.enum(['happy', 'calm', 'sad', 'c++']) });
    const shape = base.shape;
    const keys = Object.keys(shape);
    // `inserted` goes right after `text`, the first field: every later field keeps its number.
    const inserted = z.object(Object.fromEntries([[keys[0]!, shape.text], ['inserted', z.string().optional().describe('New.')], ...keys.slice(1).map((k) => [k, shape[k as keyof typeof shape]])]));
    const evolved: FlowSchemas = { ...FIXTURE_FLOW, inputSchema: inserted };
    await runCodegen(root, [evolved]);
    const once = await treeHash(join(root, 'generated'));
    await runCodegen(root, [evolved]);
    assert.deepEqual(await treeHash(join(root, 'generated')), once);
    const lock = parseLock(await readFile(generatedPaths(root).lockFile, 'utf8'));
    assert.equal(lock.messages.FixtureFlowRequest!.members.find((m) => m.name === 'inserted')?.number, 17);
    assert.equal(lock.enums['FixtureFlowRequest.Mood']!.members.find((m) => m.name === 'calm')?.number, 4);
    await runCodegen(root, [FIXTURE_FLOW]); // back to the fixture for the tests below
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

  it('the descriptor set served by reflection carries the comments: a field\'s default and limits', async () => {
    const set = fromBinary(FileDescriptorSetSchema, await readFile(generatedPaths().descriptorSet));
    const file = set.file.find((f) => f.name === 'genkit/flows/v1/flows.proto')!;
    const message = file.messageType.findIndex((m) => m.name === 'TellJokeRequest');
    const field = file.messageType[message]!.field.findIndex((f) => f.name === 'name');
    // SourceCodeInfo path: message_type = 4, field = 2.
    const location = file.sourceCodeInfo?.location.find((l) => l.path.join('.') === `4.${message}.2.${field}`);
    assert.equal(location?.leadingComments, ' Who or what the joke is about.\n Default: "Mittens". At most 200 characters.\n');
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
