import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../grpc/generated-paths.js';
import { SETTINGS } from '../server/config.js';

/**
 * The Containerfile: what it must hold, checked on every machine, and a real
 * build + run where a container engine can do it. Where it cannot (no
 * registry to pull the Node base image from, or an engine that cannot start
 * containers), that test is skipped with the reason, and
 * tests/runtime-tree.test.ts (the runtime stage's tree, run as a non-root user
 * on a read-only copy) stands in for it.
 */

const run = promisify(execFile);
const containerfile = await readFile(join(REPO_ROOT, 'Containerfile'), 'utf8');
const ignore = (await readFile(join(REPO_ROOT, '.containerignore'), 'utf8')).split('\n').map((l) => l.trim());
const defaultOf = (env: string) => SETTINGS.find((s) => s.env === env)!.default;

/** Instructions of the last stage (the image that runs). */
function finalStage(): string[] {
  const lines = containerfile.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const lastFrom = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0).pop()!;
  return lines.slice(lastFrom);
}

describe('Containerfile', () => {
  it('is multi-stage: a build stage with dev dependencies, a runtime stage with production dependencies only', () => {
    assert.ok((containerfile.match(/^FROM\s/gim) ?? []).length >= 2);
    assert.match(containerfile, /^FROM .* AS build$[\s\S]*^RUN npm ci\b(?![^\n]*--omit=dev)[\s\S]*^RUN npm run build$/m);
    const stage = finalStage().join('\n');
    assert.match(stage, /^RUN npm ci --omit=dev --ignore-scripts\b/m);
    for (const path of ['dist', 'generated', 'prompts']) assert.match(stage, new RegExp(`^COPY .*\\b${path}\\b`, 'm'), `runtime stage copies ${path}/`);
  });

  it('runs node dist/main.js directly (exec form) as a non-root user, exposing both default ports', () => {
    const stage = finalStage();
    const user = stage.filter((l) => /^USER\s/i.test(l)).pop();
    assert.ok(user && !/^USER\s+(root|0)(:|\s|$)/i.test(user), `non-root USER (${user})`);
    assert.equal(stage.filter((l) => /^CMD\s/i.test(l)).pop(), 'CMD ["node", "dist/main.js"]');
    assert.ok(!stage.some((l) => /^ENTRYPOINT\s/i.test(l)), 'no ENTRYPOINT wrapper in front of node');
    const exposed = stage.filter((l) => /^EXPOSE\s/i.test(l)).flatMap((l) => l.split(/\s+/).slice(1));
    assert.deepEqual(exposed.sort(), [defaultOf('PORT'), defaultOf('GRPC_PORT')].sort());
  });

  it('keeps node_modules, dist and .git out of the build context', () => {
    for (const entry of ['node_modules', 'dist', '.git']) assert.ok(ignore.includes(entry), `.containerignore lists ${entry}`);
  });

  it('builds with podman or buildah', async (t) => {
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(containerfile)?.[1];
    assert.ok(image, 'the base image is an ARG with a default');
    const engine = await firstWorking([['podman', '--version'], ['buildah', '--version']]);
    if (!engine) return t.skip('neither podman nor buildah is installed; tests/runtime-tree.test.ts stands in for the image');
    // Offline machines have no registry: build only when the base image is already in local storage.
    const present = await run(engine, engine === 'podman' ? ['image', 'exists', image] : ['inspect', '--type', 'image', image]).then(
      () => true,
      () => false,
    );
    if (!present) {
      return t.skip(`${engine} is installed but the base image ${image} is not in local storage and is only pulled from a registry; tests/runtime-tree.test.ts stands in for the image`);
    }
    const tag = `localhost/genkit-flow-gateway-test:${process.pid}`;
    try {
      await run(engine, [engine === 'podman' ? 'build' : 'bud', '--pull=never', '-f', 'Containerfile', '-t', tag, '.'], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
      const { stdout } = await run(engine, ['inspect', '--type', 'image', '--format', '{{.Config.User}} {{json .Config.Cmd}}', tag]);
      assert.equal(stdout.trim(), 'node ["node","dist/main.js"]');
    } finally {
      await run(engine, ['rmi', '-f', tag]).catch(() => undefined);
    }
  });
});

async function firstWorking(commands: string[][]): Promise<string | null> {
  for (const [command, ...args] of commands) {
    if (await run(command!, args).then(() => true, () => false)) return command!;
  }
  return null;
}
