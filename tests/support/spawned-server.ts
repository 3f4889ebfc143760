import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * Any command that ends up running our server (`node dist/main.js`, `npm start`,
 * a dropped-privilege wrapper …), with its JSON log lines collected and the
 * REST and gRPC ports read from them. Lines that are not JSON (npm's banner)
 * are kept in `text`.
 */
export interface SpawnedServer {
  child: ChildProcess;
  restPort: number;
  grpcPort: number;
  logs: Record<string, unknown>[];
  text: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a log line whose msg starts with `prefix` is seen. */
  logged(prefix: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export async function spawnServer(command: string, args: string[], options: SpawnOptions & { env: NodeJS.ProcessEnv }, startTimeoutMs = 60_000): Promise<SpawnedServer> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const logs: Record<string, unknown>[] = [];
  const text: string[] = [];
  const waiters: { prefix: string; resolve: (entry: Record<string, unknown>) => void }[] = [];
  const onLine = (line: string) => {
    let entry: Record<string, unknown> | undefined;
    try {
      entry = line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : undefined;
    } catch {
      entry = undefined;
    }
    if (!entry) return void text.push(line);
    logs.push(entry);
    for (const waiter of waiters.filter((w) => String(entry.msg).startsWith(w.prefix))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(entry);
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', (line) => text.push(line));

  const logged = (prefix: string, timeoutMs = 15_000) => {
    const seen = logs.find((entry) => String(entry.msg).startsWith(prefix));
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${prefix}" log line within ${timeoutMs} ms; output:\n${text.join('\n')}`)), timeoutMs);
      waiters.push({ prefix, resolve: (entry) => (clearTimeout(timer), resolve(entry)) });
    });
  };
  const failed = exited.then(({ code, signal }) => {
    throw new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before listening:\n${text.join('\n')}`);
  });
  const [rest, grpc] = await Promise.race([Promise.all([logged('REST listening', startTimeoutMs), logged('gRPC listening', startTimeoutMs)]), failed]);
  failed.catch(() => undefined);
  return { child, restPort: rest.port as number, grpcPort: grpc.port as number, logs, text, exited, logged };
}

/** True while a process with this pid exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie still answers kill(0); /proc says Z.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}
