import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { BUF, REPO_ROOT } from '../grpc/generated-paths.js';
import { addReflection, mergeDescriptorSets, reflectionPackageDefinition } from '../grpc/reflection.js';

/**
 * Reflection from a buf-built descriptor set (fixture proto with a map, an enum,
 * a nested message and a struct.proto import, merged with the health and
 * reflection protos), checked with a client we did not write: `buf curl`.
 * The fixture service itself is not implemented: a call reaching the server
 * proves the client resolved the request schema through reflection.
 */

const run = promisify(execFile);

const FIXTURE_PROTO = `syntax = "proto3";
package fixture.v1;

import "google/protobuf/struct.proto";

enum Color {
  COLOR_UNSPECIFIED = 0;
  COLOR_RED = 1;
}

message Widget {
  message Part {
    string name = 1;
  }
  map<string, int32> counts = 1;
  google.protobuf.Value extra = 2;
  Color color = 3;
  repeated Part parts = 4;
}

message GetWidgetRequest {
  Widget widget = 1;
}

message GetWidgetResponse {
  Widget widget = 1;
}

service WidgetService {
  rpc GetWidget(GetWidgetRequest) returns (GetWidgetResponse);
  rpc WatchWidgets(GetWidgetRequest) returns (stream GetWidgetResponse);
}
`;

async function buf(cwd: string, args: string[]): Promise<void> {
  await run(BUF, args, { cwd });
}

/** `buf curl` over gRPC (h2c); resolves with stdout, or with the exit code and stderr when it fails. */
async function bufCurl(port: number, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args.map((a) => a.replace('{base}', `http://127.0.0.1:${port}`))];
  try {
    const { stdout, stderr } = await run(BUF, argv, { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (e: unknown) {
    const { code, stdout, stderr } = e as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

const lines = (s: string) => s.trim().split('\n').sort();

describe('gRPC reflection from a buf descriptor set (buf curl)', () => {
  let dir: string;
  let descriptorSet: Uint8Array;
  let server: grpc.Server;
  let port: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'grpc-reflection-'));
    await mkdir(join(dir, 'proto/fixture/v1'), { recursive: true });
    await writeFile(join(dir, 'proto/fixture/v1/fixture.proto'), FIXTURE_PROTO);
    await writeFile(join(dir, 'buf.yaml'), 'version: v2\nmodules:\n  - path: proto\n');
    const reflectionProtos = join(REPO_ROOT, 'node_modules/@grpc/reflection/build/proto');
    await buf(dir, ['build', '-o', 'fixture.binpb']);
    await buf(dir, ['build', join(REPO_ROOT, 'node_modules/grpc-health-check/proto'), '-o', 'health.binpb']);
    // The package also ships sample protos: take only grpc/reflection/{v1,v1alpha}.
    await buf(dir, ['build', reflectionProtos, '--path', join(reflectionProtos, 'grpc/reflection'), '-o', 'reflection.binpb']);
    descriptorSet = mergeDescriptorSets(...(await Promise.all(['fixture', 'health', 'reflection'].map((n) => readFile(join(dir, `${n}.binpb`))))));

    server = new grpc.Server();
    addReflection(server, descriptorSet);
    new HealthImplementation({ '': 'SERVING', 'fixture.v1.WidgetService': 'SERVING' }).addToServer(server);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
  });

  after(async () => {
    if (server) await new Promise<void>((resolve, reject) => server.tryShutdown((err) => (err ? reject(err) : resolve())));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('merges the sets: every file once, imports before importers', () => {
    const names = fromBinary(FileDescriptorSetSchema, descriptorSet).file.map((f) => f.name);
    assert.deepEqual(names, [
      'google/protobuf/struct.proto',
      'fixture/v1/fixture.proto',
      'health/v1/health.proto',
      'grpc/reflection/v1/reflection.proto',
      'grpc/reflection/v1alpha/reflection.proto',
    ]);
    assert.deepEqual(mergeDescriptorSets(descriptorSet, descriptorSet), descriptorSet);
  });

  it('refuses two different files under one name', async () => {
    const other = join(dir, 'changed');
    await mkdir(join(other, 'proto/fixture/v1'), { recursive: true });
    await writeFile(join(other, 'proto/fixture/v1/fixture.proto'), FIXTURE_PROTO.replace('COLOR_RED = 1;', 'COLOR_RED = 1;\n  COLOR_BLUE = 2;'));
    await writeFile(join(other, 'buf.yaml'), 'version: v2\nmodules:\n  - path: proto\n');
    await buf(other, ['build', '-o', 'changed.binpb']);
    const changed = await readFile(join(other, 'changed.binpb'));
    assert.throws(() => mergeDescriptorSets(descriptorSet, changed), /two different versions of fixture\/v1\/fixture\.proto/);
  });

  it('builds one entry per message, enum and service, each with its file and its imports', () => {
    const definition = reflectionPackageDefinition(descriptorSet);
    const fixture = Object.keys(definition).filter((k) => k.startsWith('fixture.')).sort();
    assert.deepEqual(fixture, [
      'fixture.v1.Color',
      'fixture.v1.GetWidgetRequest',
      'fixture.v1.GetWidgetResponse',
      'fixture.v1.Widget',
      'fixture.v1.Widget.Part',
      'fixture.v1.WidgetService',
    ]); // no synthetic fixture.v1.Widget.CountsEntry
    const widget = definition['fixture.v1.Widget']!;
    assert.equal(widget.format, 'Protocol Buffer 3 DescriptorProto');
    assert.deepEqual(
      widget.fileDescriptorProtos.map((b) => fromBinary(FileDescriptorProtoSchema, b).name),
      ['fixture/v1/fixture.proto', 'google/protobuf/struct.proto'],
    );
    assert.equal(definition['fixture.v1.Color']!.format, 'Protocol Buffer 3 EnumDescriptorProto');
    assert.equal(definition['grpc.health.v1.HealthCheckResponse.ServingStatus']!.format, 'Protocol Buffer 3 EnumDescriptorProto');
    assert.equal(definition['grpc.health.v1.Health']!.format, 'Protocol Buffer 3 ServiceDescriptorProto');
  });

  it('fails fast on a set built without its imports', async () => {
    await buf(dir, ['build', '--exclude-imports', '-o', 'no-imports.binpb']);
    const set = await readFile(join(dir, 'no-imports.binpb'));
    assert.throws(() => reflectionPackageDefinition(set), /fixture\/v1\/fixture\.proto imports google\/protobuf\/struct\.proto, which is not in the set/);
  });

  it('lists the services (reflection v1 and v1alpha)', async () => {
    const expected = ['fixture.v1.WidgetService', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];
    for (const protocol of ['grpc-v1', 'grpc-v1alpha']) {
      const res = await bufCurl(port, ['--reflect-protocol', protocol, '--list-services', '{base}']);
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(lines(res.stdout), expected);
    }
  });

  it('lists the methods, both fixture RPCs included', async () => {
    const res = await bufCurl(port, ['--list-methods', '{base}']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(lines(res.stdout), [
      'fixture.v1.WidgetService/GetWidget',
      'fixture.v1.WidgetService/WatchWidgets',
      'grpc.health.v1.Health/Check',
      'grpc.health.v1.Health/List',
      'grpc.health.v1.Health/Watch',
      'grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      'grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
    ]);
  });

  it('resolves the map, enum, nested and struct.proto fields: the request is encoded and reaches the server', async () => {
    const widget = { counts: { a: 1, b: 2 }, extra: { k: [1, 'x', null] }, color: 'COLOR_RED', parts: [{ name: 'p' }] };
    for (const method of ['GetWidget', 'WatchWidgets']) {
      const res = await bufCurl(port, ['-d', JSON.stringify({ widget }), `{base}/fixture.v1.WidgetService/${method}`]);
      // Exit code = gRPC code << 3: 12 UNIMPLEMENTED comes from the server, so the schema resolved.
      assert.equal(res.code, grpc.status.UNIMPLEMENTED << 3, res.stderr);
      assert.deepEqual(JSON.parse(res.stderr), { code: 'unimplemented', message: `The server does not implement the method /fixture.v1.WidgetService/${method}` });
    }
  });

  it('knows the map value type: a string for an int32 map value is rejected by the client', async () => {
    const res = await bufCurl(port, ['-d', '{"widget":{"counts":{"a":"not a number"}}}', '{base}/fixture.v1.WidgetService/GetWidget']);
    assert.equal(res.code, 1, res.stderr); // < 8: a client-side error, nothing was sent
    // `value` is the int32 field of the map's synthetic CountsEntry message.
    assert.match(res.stderr, /^Failure: json unmarshal: .*invalid value for int32 field value: "not a number"$/m);
  });

  it('health: Check is SERVING for "" and the fixture service; List decodes its map<string, HealthCheckResponse>', async () => {
    for (const service of ['', 'fixture.v1.WidgetService']) {
      const res = await bufCurl(port, ['-d', JSON.stringify({ service }), '{base}/grpc.health.v1.Health/Check']);
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(JSON.parse(res.stdout), { status: 'SERVING' });
    }
    const list = await bufCurl(port, ['{base}/grpc.health.v1.Health/List']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), { statuses: { '': { status: 'SERVING' }, 'fixture.v1.WidgetService': { status: 'SERVING' } } });
  });
});
