import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PROTO_FILE_IN_MODULE, REPO_ROOT } from '../grpc/generated-paths.js';
import { buf } from './proto/codegen.js';

/**
 * `npm run proto:breaking`: `buf breaking` (WIRE_JSON rules, see buf.yaml)
 * of the current proto against the previous commit's. "Previous" is HEAD
 * while the proto has uncommitted changes, else HEAD~1. Skipped, with a
 * message, when there is no previous proto (first commit, shallow clone).
 */

const run = promisify(execFile);
const PROTO_PATH = `generated/proto/${PROTO_FILE_IN_MODULE}`;

async function git(args: string[]): Promise<string | null> {
  try {
    return (await run('git', args, { cwd: REPO_ROOT })).stdout.trim();
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const dirty = (await git(['status', '--porcelain', '--', PROTO_PATH])) !== '';
  const ref = dirty ? 'HEAD' : 'HEAD~1';
  const sha = await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  if (!sha || (await git(['cat-file', '-e', `${sha}:${PROTO_PATH}`])) === null || (await git(['cat-file', '-e', `${sha}:buf.yaml`])) === null) {
    process.stdout.write(`proto:breaking skipped: ${ref} has no ${PROTO_PATH} to compare with.\n`);
    return;
  }
  // Our module only (the workspace also holds vendored google/rpc, which an older ref may lack).
  await buf(REPO_ROOT, ['breaking', 'generated/proto', '--against', `.git#ref=${sha},subdir=generated/proto`]);
  process.stdout.write(`proto:breaking: no breaking change against ${ref} (${sha.slice(0, 12)}).\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
