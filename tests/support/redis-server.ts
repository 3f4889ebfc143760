import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/**
 * A real Redis (Debian's redis-server) for tests: 127.0.0.1 only, a free port,
 * a temporary directory, no persistence. `stop()` kills it (SIGKILL: as abrupt
 * as a crash) and `start()` brings it back on the same port.
 */
export interface TestRedis {
  port: number;
  url: string;
  /** The running redis-server's pid (to SIGSTOP it, say), or undefined while it is down. */
  pid(): number | undefined;
  start(): Promise<void>;
  /** Kills redis-server at once; the data is gone (nothing is persisted). */
  kill(): Promise<void>;
  /** Kills it and removes its directory. */
  close(): Promise<void>;
}

/** Why Redis tests cannot run here, or null when redis-server is installed. */
export function redisUnavailableReason(): string | null {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.error || probe.status !== 0 ? 'redis-server is not installed (CI installs it: apt-get install redis-server)' : null;
}


export async function startRedis(options: { password?: string } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'test-redis-'));
  let child: ChildProcess | null = null;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  if (options.password) args.push('--requirepass', options.password);
  const start = async () => {
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start within 10 s')), 10_000);
      let out = '';
      proc.stdout!.on('data', (data: Buffer) => {
        out += data.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
    proc.stdout!.resume();
  };
  const kill = async () => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  };
  await start();
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    pid: () => (child as ChildProcess | null)?.pid,
    start,
    kill,
    close: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
