import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../grpc/generated-paths.js';

/**
 * The app directory as a container's runtime stage has it: the tracked files,
 * `dist/` from `npm run build`, and `node_modules` from
 * `npm ci --omit=dev --ignore-scripts` (no dev dependencies: no tsx, no
 * typescript). The production install is cached per package-lock.json in the
 * temp dir, so only the first run on a machine pays for it (≈20 s).
 */

const run = promisify(execFile);

/** `npm run build` of the checkout (tsc, incremental). */
export async function buildDist(): Promise<void> {
  await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT });
}

/** A production-only node_modules for this package-lock.json; reused while the lock does not change. */
export async function productionNodeModules(): Promise<string> {
  const pkg = await readFile(join(REPO_ROOT, 'package.json'));
  const lock = await readFile(join(REPO_ROOT, 'package-lock.json'));
  // Keyed by what npm ci reads for the install (not scripts or descriptions).
  const { dependencies, devDependencies, overrides } = JSON.parse(pkg.toString('utf8')) as Record<string, unknown>;
  const key = createHash('sha256').update(JSON.stringify({ dependencies, devDependencies, overrides })).update(lock).digest('hex').slice(0, 16);
  const cacheRoot = join(tmpdir(), 'genkit-flow-gateway-runtime-deps');
  const ready = join(cacheRoot, key);
  if (existsSync(join(ready, 'node_modules', '.complete'))) return join(ready, 'node_modules');

  await mkdir(cacheRoot, { recursive: true });
  const staging = await mkdtemp(join(cacheRoot, `${key}-staging-`));
  await writeFile(join(staging, 'package.json'), pkg);
  await writeFile(join(staging, 'package-lock.json'), lock);
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: staging,
    maxBuffer: 16 * 1024 * 1024,
  });
  await writeFile(join(staging, 'node_modules', '.complete'), '');
  try {
    await rename(staging, ready);
  } catch {
    // Another run finished first: use its copy.
    await rm(staging, { recursive: true, force: true });
  }
  return join(ready, 'node_modules');
}

/** Builds the runtime tree in a new temp directory and returns its path. */
export async function makeRuntimeTree(): Promise<string> {
  const [nodeModules] = await Promise.all([productionNodeModules(), buildDist()]);
  const tree = await mkdtemp(join(tmpdir(), 'genkit-runtime-tree-'));
  const { stdout } = await run('git', ['ls-files', '-z'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  for (const file of stdout.split('\0').filter(Boolean)) {
    // Deleted in the working tree but not yet committed: not part of what would ship.
    if (!existsSync(join(REPO_ROOT, file))) continue;
    await mkdir(dirname(join(tree, file)), { recursive: true });
    await cp(join(REPO_ROOT, file), join(tree, file));
  }
  await cp(join(REPO_ROOT, 'dist'), join(tree, 'dist'), { recursive: true });
  // Hard links: a second copy of ≈350 MB would cost seconds; the server only reads them.
  await run('cp', ['-al', nodeModules, join(tree, 'node_modules')]).catch(() => cp(nodeModules, join(tree, 'node_modules'), { recursive: true }));
  await chmod(tree, 0o755);
  return tree;
}

/**
 * How to run a command as a user that cannot write the tree: as root, drop to
 * `nobody` with setpriv (util-linux); as any other user, the tree's own files
 * are made read-only (chmod a-w). Null with the reason when neither works.
 */
export async function readOnlyRunner(tree: string): Promise<{ prefix: string[]; who: string } | { skip: string }> {
  if (process.getuid?.() === 0) {
    const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
    if (!setpriv) return { skip: 'running as root and setpriv (util-linux) is not installed, so the server cannot be started as a non-root user' };
    return { prefix: [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'], who: 'nobody (uid 65534)' };
  }
  await run('chmod', ['-R', 'a-w', '--', ...(await topLevelEntriesExcept(tree, 'node_modules'))]);
  await chmod(tree, 0o555);
  return { prefix: [], who: `uid ${process.getuid?.()} with the app files made read-only` };
}

async function topLevelEntriesExcept(dir: string, skip: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name !== skip).map((name) => join(dir, name));
}

/** Removes a tree made by makeRuntimeTree (write permission back first if it was taken away). */
export async function removeRuntimeTree(tree: string): Promise<void> {
  await run('chmod', ['-R', 'u+w', tree]).catch(() => undefined);
  await rm(tree, { recursive: true, force: true });
}
