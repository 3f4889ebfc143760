import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../grpc/generated-paths.js';
import { SETTINGS } from '../server/config.js';
import { callUnary, flowClient } from './support/grpc-client.js';
import { spawnServer, type SpawnedServer } from './support/spawned-server.js';
import { freePort } from './support/free-port.js';

/**
 * The Containerfile: what it must hold, checked on every machine, and a real
 * build + run where a container engine can do it (`podman run` when it can
 * start containers here, else `buildah run --isolation chroot`). Where it
 * cannot (no registry to pull the Node base image from), that test is skipped
 * with the reason, and
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
    const defaultImage = /^ARG NODE_IMAGE=(\S+)$/m.exec(containerfile)?.[1];
    assert.ok(defaultImage, 'the base image is an ARG with a default');
    // Offline machines can build a stand-in from their own node (scripts/container-host-base.sh).
    const image = process.env.CONTAINER_NODE_IMAGE ?? defaultImage;
    const engine = await firstWorking([['podman', '--version'], ['buildah', '--version']]);
    if (!engine) return t.skip('neither podman nor buildah is installed; tests/runtime-tree.test.ts stands in for the image');
    // Offline machines have no registry: build only when the base image is already in local storage.
    const present = await run(engine, engine === 'podman' ? ['image', 'exists', image] : ['inspect', '--type', 'image', image]).then(
      () => true,
      () => false,
    );
    if (!present) {
      return t.skip(
        `${engine} is installed but the base image ${image} is not in local storage and is only pulled from a registry ` +
          '(on a machine without registry access: scripts/container-host-base.sh, then CONTAINER_NODE_IMAGE=localhost/node-host:20); ' +
          'tests/runtime-tree.test.ts stands in for the image',
      );
    }
    const tag = `localhost/genkit-flow-gateway-test:${process.pid}`;
    try {
      // chroot isolation: builds where the engine cannot create namespaces or set rlimits (nested containers).
      const build = [engine === 'podman' ? 'build' : 'bud', '--isolation', 'chroot', '--pull=never', '--build-arg', `NODE_IMAGE=${image}`, '-f', 'Containerfile', '-t', tag, '.'];
      await run(engine, build, { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
      const { stdout } = await run(engine, ['inspect', '--type', 'image', '--format', '{{.Config.User}} {{json .Config.Cmd}}', tag]);
      assert.equal(stdout.trim(), 'node ["node","dist/main.js"]');
      const podman = engine === 'podman' ? await podmanRunOptions(tag) : null;
      if (podman) await runContainer(t, tag, podman);
      else if (await firstWorking([['buildah', '--version']])) await runImage(t, tag);
      else t.diagnostic('built; buildah is not installed, so the image was not run');
    } finally {
      await run(engine, ['rmi', '-f', tag]).catch(() => undefined);
    }
  });
});

interface PodmanRunOptions {
  /** Options before `run` (runtime, cgroup manager). */
  global: string[];
  /** Options of `run` itself. */
  run: string[];
  label: string;
}

/**
 * How `podman run` can start a container on this machine, or null. First as on any ordinary host; then
 * for hosts like this sandbox, where the container runtime may not set the default rlimits (no
 * CAP_SYS_RESOURCE: limits at or above the host's are refused, lower ones are allowed) and cgroups are
 * hybrid v1/v2, which crun refuses: runc with the cgroupfs manager and explicit, lower limits.
 */
async function podmanRunOptions(tag: string): Promise<PodmanRunOptions | null> {
  const candidates: PodmanRunOptions[] = [
    { global: [], run: [], label: 'podman run' },
    {
      global: ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'],
      run: ['--ulimit', 'nofile=8192:8192', '--ulimit', 'nproc=4096:4096'],
      label: 'podman run (runc, cgroupfs, nofile 8192, nproc 4096)',
    },
  ];
  for (const options of candidates) {
    const probe = [...options.global, 'run', '--rm', ...options.run, tag, 'node', '-e', '0'];
    if (await run('podman', probe, { timeout: 60_000 }).then(() => true, () => false)) return options;
  }
  return null;
}

/**
 * Runs the image as a container, the way a runtime does: its own PID and network namespaces, the
 * default ports published on 127.0.0.1, node dist/main.js as PID 1 under the image's USER; REST, gRPC,
 * /health, then `podman stop` (SIGTERM to PID 1) ends in the graceful shutdown and exit 0.
 */
async function runContainer(t: TestContext, tag: string, options: PodmanRunOptions): Promise<void> {
  const name = `gfg-test-${process.pid}`;
  const [rest, grpc] = [await freePort(), await freePort()];
  const publish = ['-p', `127.0.0.1:${rest}:${defaultOf('PORT')}`, '-p', `127.0.0.1:${grpc}:${defaultOf('GRPC_PORT')}`];
  let server: SpawnedServer | undefined;
  try {
    server = await spawnServer('podman', [...options.global, 'run', '--rm', '--name', name, ...publish, ...options.run, tag], { env: process.env });
    assert.equal(server.restPort, Number(defaultOf('PORT')), 'listens on the default port inside the container');
    assert.equal((await fetch(`http://127.0.0.1:${rest}/health`)).status, 200);
    const joke = await fetch(`http://127.0.0.1:${rest}/tellJoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"data":{}}' });
    assert.equal(joke.status, 200);
    const client = flowClient(grpc);
    try {
      assert.match(((await callUnary(client, 'tellJoke', { name: 'Ada' }, { deadlineMs: 10_000 })) as { joke: string }).joke, /\S/);
    } finally {
      client.close();
    }
    const { stdout: pid } = await run('podman', [...options.global, 'inspect', '--format', '{{.State.Pid}}', name]);
    const status = readFileSync(`/proc/${pid.trim()}/status`, 'utf8');
    assert.match(readFileSync(`/proc/${pid.trim()}/cmdline`, 'utf8'), /^node\0dist\/main\.js\0$/, 'the container runs node dist/main.js itself');
    assert.match(status, /^NSpid:\s+\d+\s+1$/m, 'as PID 1 of its PID namespace');
    assert.equal(status.match(/^Uid:\s+(\d+)/m)?.[1], '1000', 'as the image user node (uid 1000)');
    await run('podman', [...options.global, 'stop', '--time', '20', name], { timeout: 30_000 });
    const { code } = await server.exited;
    assert.ok(server.logs.some((l) => l.msg === 'Stopped'), server.text.join('\n'));
    assert.equal(code, 0, server.text.join('\n'));
    t.diagnostic(`the image ran under ${options.label} as user node, PID 1: REST, gRPC, /health, exit 0 on podman stop (SIGTERM)`);
  } finally {
    await run('podman', [...options.global, 'rm', '-f', name]).catch(() => undefined);
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  }
}

/**
 * Runs the image's CMD as its USER with `buildah run --isolation chroot` (works where `podman run` cannot
 * create containers, e.g. inside another container), on free host ports: REST, gRPC, /health, and exit 0
 * on SIGTERM.
 */
async function runImage(t: TestContext, tag: string): Promise<void> {
  const { stdout: container } = await run('buildah', ['from', '--pull=never', tag]);
  const name = container.trim();
  let server: SpawnedServer | undefined;
  try {
    const [rest, grpc] = [await freePort(), await freePort()];
    const env = ['PORT', String(rest), 'GRPC_PORT', String(grpc), 'HOST', '127.0.0.1'];
    const envArgs = env.flatMap((v, i) => (i % 2 === 0 ? ['--env', `${v}=${env[i + 1]}`] : []));
    server = await spawnServer('buildah', ['run', '--isolation', 'chroot', '--user', 'node', ...envArgs, name, '--', 'node', 'dist/main.js'], { env: process.env });
    assert.equal((await fetch(`http://127.0.0.1:${server.restPort}/health`)).status, 200);
    const joke = await fetch(`http://127.0.0.1:${server.restPort}/tellJoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"data":{}}' });
    assert.equal(joke.status, 200);
    const client = flowClient(server.grpcPort);
    try {
      assert.match(((await callUnary(client, 'tellJoke', { name: 'Ada' }, { deadlineMs: 10_000 })) as { joke: string }).joke, /\S/);
    } finally {
      client.close();
    }
    // chroot isolation has no PID namespace: signal node itself, as a runtime signals its PID 1.
    const node = descendants(server.child.pid!).find((pid) => {
      const [program, ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return /(^|\/)node$/.test(program ?? '') && args.includes('dist/main.js');
    });
    assert.ok(node, 'node dist/main.js runs under buildah');
    assert.equal(readFileSync(`/proc/${node}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1], '1000', 'as the image user node (uid 1000)');
    process.kill(node, 'SIGTERM');
    const { code } = await server.exited;
    assert.ok(server.logs.some((l) => l.msg === 'Stopped'), server.text.join('\n'));
    assert.equal(code, 0, server.text.join('\n'));
    t.diagnostic('the image ran under buildah run --isolation chroot as user node: REST, gRPC, /health, exit 0 on SIGTERM');
  } finally {
    if (server && server.child.exitCode === null) {
      // Without a PID namespace, killing buildah would leave node running: kill the whole tree.
      for (const pid of [...descendants(server.child.pid!).reverse(), server.child.pid!]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await run('buildah', ['rm', name]).catch(() => undefined);
  }
}

function descendants(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return children.flatMap((child) => [child, ...descendants(child)]);
}


async function firstWorking(commands: string[][]): Promise<string | null> {
  for (const [command, ...args] of commands) {
    if (await run(command!, args).then(() => true, () => false)) return command!;
  }
  return null;
}
