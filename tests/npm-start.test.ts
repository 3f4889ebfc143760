import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../grpc/generated-paths.js';
import { isAlive, spawnServer, type SpawnedServer } from './support/spawned-server.js';

/**
 * `npm start` (build, then `exec node dist/main.js`): the process npm starts
 * IS the server, so a SIGTERM to it (or to npm, which forwards it) ends in the
 * server's graceful shutdown and leaves no orphan behind.
 */

const env = { ...process.env, PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', GEMINI_API_KEY: '', GOOGLE_API_KEY: '' };

/** The one child of `pid` (npm's run-script child). */
function childOf(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  assert.equal(children.length, 1, `npm has one child, saw ${children.join(', ')}`);
  return children[0]!;
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

describe('npm start', { timeout: 120_000 }, () => {
  const started: SpawnedServer[] = [];
  // Each npm runs in its own process group, so whatever it left behind (an orphan, on failure) is killed too.
  after(() => {
    for (const s of started) {
      try {
        process.kill(-s.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  async function npmStart(): Promise<{ npm: SpawnedServer; server: number }> {
    const npm = await spawnServer('npm', ['start', '--silent'], { cwd: REPO_ROOT, env, detached: true }, 90_000);
    started.push(npm);
    const server = childOf(npm.child.pid!);
    return { npm, server };
  }

  it('starts node dist/main.js as npm\'s direct child; SIGTERM to that child shuts down gracefully, npm exits 0', async () => {
    const { npm, server } = await npmStart();
    // `exec`: the shell npm spawned has become the server, no sh in between.
    assert.deepEqual(cmdline(server).slice(-1), ['dist/main.js'], `npm's child is ${cmdline(server).join(' ')}`);
    assert.equal((await fetch(`http://127.0.0.1:${npm.restPort}/health`)).status, 200);

    process.kill(server, 'SIGTERM');
    const { code } = await npm.exited;
    assert.equal(code, 0);
    assert.ok(npm.logs.some((l) => String(l.msg).startsWith('Shutting down')));
    assert.ok(npm.logs.some((l) => l.msg === 'Stopped'));
    assert.equal(isAlive(server), false, 'the server process is gone');
  });

  it('SIGTERM to npm itself reaches the server too: graceful shutdown, no orphan', async () => {
    const { npm, server } = await npmStart();
    npm.child.kill('SIGTERM');
    const { code } = await npm.exited;
    assert.equal(code, 0);
    assert.ok(npm.logs.some((l) => l.msg === 'Stopped'), npm.text.join('\n'));
    assert.equal(isAlive(server), false, 'no orphaned server left answering');
  });
});
