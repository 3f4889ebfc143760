import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { defineFlows } from '../flows/index.js';
import { createGenkit } from '../genkit.config.js';
import { parseLock, serializeLock } from '../grpc/proto-lock.js';
import { flowSchemas } from '../grpc/service-model.js';
import { generateProto } from './proto/generate-proto.js';
import { BUF, DESCRIPTOR_SET, LOCK_FILE, PROTO_FILE, REPO_ROOT } from '../grpc/generated-paths.js';

/**
 * `npm run gen`: flow registry → generated/proto (.proto + lock) →
 * `buf generate` (local ts-proto) → generated/ts, and `buf build` → the
 * descriptor set that server reflection serves. Deterministic: a second run
 * changes no byte.
 */

const run = promisify(execFile);

async function main(): Promise<void> {
  // The offline model needs no key and no network; the schemas do not depend on the model.
  const { ai } = createGenkit({ kind: 'offline', latencyMs: 0 });
  const flows = defineFlows(ai).map(flowSchemas);

  const previousLock = parseLock(await readFile(LOCK_FILE, 'utf8').catch(() => undefined));
  const { proto, lock } = generateProto(flows, previousLock);
  await mkdir(dirname(PROTO_FILE), { recursive: true });
  await writeFile(PROTO_FILE, proto);
  await writeFile(LOCK_FILE, serializeLock(lock));

  await buf(['lint']);
  await buf(['generate']);
  await buf(['build', '--output', DESCRIPTOR_SET]);
  process.stdout.write(`Generated ${flows.length} flows → ${PROTO_FILE}, generated/ts, ${DESCRIPTOR_SET}\n`);
}

async function buf(args: string[]): Promise<void> {
  try {
    await run(BUF, args, { cwd: REPO_ROOT });
  } catch (e: unknown) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`buf ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
