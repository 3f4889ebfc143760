import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { defineFlows } from '../../flows/index.js';
import { createGenkit } from '../../genkit.config.js';
import { BUF, generatedPaths, REPO_ROOT } from '../../grpc/generated-paths.js';
import { parseLock, serializeLock } from '../../grpc/proto-lock.js';
import { flowSchemas, type FlowSchemas } from '../../grpc/service-model.js';
import { buildOpenApi } from '../../rest/openapi-document.js';
import { generateProto } from './generate-proto.js';

const run = promisify(execFile);
const HEALTH_PROTO_DIR = join(REPO_ROOT, 'node_modules/grpc-health-check/proto');

/** The flows' schemas, read from the same registry the server uses (offline model: no key, no network). */
export function registryFlowSchemas(): FlowSchemas[] {
  const { ai } = createGenkit({ kind: 'offline', latencyMs: 0 });
  return defineFlows(ai).map(flowSchemas);
}

/**
 * Writes `<root>/generated`: the .proto and its lock, then `buf lint`,
 * `buf generate` (local ts-proto, per `<root>/buf.gen.yaml`) and `buf build`
 * (descriptor set for reflection), and the OpenAPI document of the REST
 * surface. `root` holds buf.yaml and buf.gen.yaml.
 */
export async function runCodegen(root: string, flows: readonly FlowSchemas[] = registryFlowSchemas()): Promise<void> {
  const paths = generatedPaths(root);
  const previousLock = parseLock(await readFile(paths.lockFile, 'utf8').catch(() => undefined));
  const { proto, lock } = generateProto(flows, previousLock);
  await mkdir(dirname(paths.protoFile), { recursive: true });
  await writeFile(paths.protoFile, proto);
  await writeFile(paths.lockFile, serializeLock(lock));

  await buf(root, ['lint']);
  await buf(root, ['generate']);
  await writeFile(paths.descriptorSet, await descriptorSet(root));

  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const openApi = buildOpenApi(flows, { title: `${pkg.name} REST API`, version: pkg.version });
  await writeFile(paths.openApi, `${JSON.stringify(openApi, null, 2)}\n`);
}

/**
 * One FileDescriptorSet for reflection: our module (with its imports, e.g.
 * struct.proto) plus grpc-health-check's health proto. FileDescriptorSet is
 * `repeated FileDescriptorProto file = 1`, so two sets concatenate into one.
 */
async function descriptorSet(root: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'descriptors-'));
  try {
    const ours = join(dir, 'flows.binpb');
    const health = join(dir, 'health.binpb');
    await buf(root, ['build', '--output', ours]);
    await buf(root, ['build', HEALTH_PROTO_DIR, '--output', health]);
    return Buffer.concat([await readFile(ours), await readFile(health)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function buf(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(BUF, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (e: unknown) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`buf ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}
