import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { callUnary, flowClient } from './support/grpc-client.js';
import { makeRuntimeTree, readOnlyRunner, removeRuntimeTree } from './support/runtime-tree.js';
import { isAlive, spawnServer, type SpawnedServer } from './support/spawned-server.js';

/**
 * The production runtime as a container runs it: tracked files + dist/ +
 * production dependencies only, `node dist/main.js` started from another
 * working directory, as a user that cannot write the app directory, with a
 * container-like environment (no npm, no TypeScript loader). This is what the
 * Containerfile's runtime stage holds; it stands in for a container build on
 * machines where no container engine can run.
 */

const run = promisify(execFile);

describe('runtime tree (production dependencies, dist/, non-root, read-only)', { timeout: 180_000 }, () => {
  let tree = '';
  let runner: Awaited<ReturnType<typeof readOnlyRunner>>;
  let server: SpawnedServer | undefined;

  before(async () => {
    tree = await makeRuntimeTree();
    runner = await readOnlyRunner(tree);
  });
  after(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    if (tree) await removeRuntimeTree(tree);
  });

  it('holds no dev dependency: no tsx, no typescript, no genkit-cli', () => {
    for (const dev of ['tsx', 'typescript', 'genkit-cli', 'ts-proto', '@bufbuild/buf']) {
      assert.equal(existsSync(join(tree, 'node_modules', dev)), false, `${dev} is in the production install`);
    }
    assert.ok(existsSync(join(tree, 'node_modules', '@genkit-ai', 'express')), '@genkit-ai/express is needed at run time');
    assert.ok(existsSync(join(tree, 'dist', 'main.js')));
  });

  it('serves REST, gRPC and /health as a user that cannot write the app directory, and exits 0 on SIGTERM', async (t) => {
    if ('skip' in runner) return t.skip(runner.skip);
    const [command, ...prefixArgs] = [...runner.prefix, process.execPath];
    // The view really is read-only for that user.
    await assert.rejects(
      run(command!, [...prefixArgs, '-e', `require('fs').writeFileSync(${JSON.stringify(join(tree, 'dist', 'probe'))}, 'x')`]),
      /EACCES|EROFS|permission denied/i,
    );

    server = await spawnServer(command!, [...prefixArgs, join(tree, 'dist', 'main.js')], {
      cwd: '/',
      // What a container has: no npm_* variables, no NODE_OPTIONS loader, HOME not writable.
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/nonexistent', NODE_ENV: 'production', PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1' },
    });
    t.diagnostic(`ran as ${runner.who}`);
    const base = `http://127.0.0.1:${server.restPort}`;

    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');

    const joke = await fetch(`${base}/tellJoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: { name: 'Ada' } }) });
    assert.equal(joke.status, 200);
    assert.match(((await joke.json()) as { result: { joke: string } }).result.joke, /\S/);
    // reviewCode renders prompts/code_review.prompt: run-time files are found from dist/.
    const review = await fetch(`${base}/reviewCode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: { code: 'x = 1' } }) });
    assert.equal(review.status, 200, await review.clone().text());

    const client = flowClient(server.grpcPort);
    try {
      const reply = (await callUnary(client, 'tellJoke', { name: 'Ada' }, { deadlineMs: 10_000 })) as { joke: string };
      assert.match(reply.joke, /\S/);
    } finally {
      client.close();
    }

    const pid = server.child.pid!;
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    assert.equal(code, 0, server.text.join('\n'));
    assert.ok(server.logs.some((l) => l.msg === 'Stopped'), 'graceful shutdown logged "Stopped"');
    assert.equal(isAlive(pid), false);
  });
});
