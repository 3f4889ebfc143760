import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { defineFlows } from '../../flows/index.js';
import { createGenkit } from '../../genkit.config.js';
import { BUF, generatedPaths } from '../../grpc/generated-paths.js';
import { parseLock, serializeLock } from '../../grpc/proto-lock.js';
import { flowSchemas, type FlowSchemas } from '../../grpc/service-model.js';
import { generateProto } from './generate-proto.js';

const run = promisify(execFile);

/** The flows' schemas, read from the same registry the server uses (offline model: no key, no network). */
export function registryFlowSchemas(): FlowSchemas[] {
  const { ai } = createGenkit({ kind: 'offline', latencyMs: 0 });
  return defineFlows(ai).map(flowSchemas);
}

/**
 * Writes `<root>/generated`: the .proto and its lock, then `buf lint`,
 * `buf generate` (local ts-proto, per `<root>/buf.gen.yaml`) and `buf build`
 * (descriptor set for reflection). `root` holds buf.yaml and buf.gen.yaml.
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
  await buf(root, ['build', '--output', paths.descriptorSet]);
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
