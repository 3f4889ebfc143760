import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * The real server process (`node --import tsx main.ts`, what `npm start`
 * runs) on ephemeral 127.0.0.1 ports, offline model, JSON logs captured.
 */
export interface ServerProcess {
  child: ChildProcess;
  restPort: number;
  grpcPort: number;
  /** Every JSON log line so far (keeps growing while the process runs). */
  logs: Record<string, unknown>[];
  /** Everything the process wrote to stderr (also passed through to ours). */
  stderr: string[];
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export async function startServerProcess(env: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts', ...args], {
    env: { ...process.env, PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', GEMINI_API_KEY: '', GOOGLE_API_KEY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString('utf8'));
    process.stderr.write(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logs: Record<string, unknown>[] = [];
  const ports = { rest: 0, grpc: 0 };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 20 s')), 20_000);
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (String(entry.msg).startsWith('REST listening')) ports.rest = entry.port as number;
      if (String(entry.msg).startsWith('gRPC listening')) ports.grpc = entry.port as number;
      if (ports.rest && ports.grpc) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    child,
    restPort: ports.rest,
    grpcPort: ports.grpc,
    logs,
    stderr,
    exited,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
