import { Writable } from 'node:stream';
import { parseCli, type ServerConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer, type RunningServer } from '../../server/start-server.js';

/** Captures pino's JSON lines so tests can assert on them. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    done();
  }
}

export interface TestServer extends RunningServer {
  baseUrl: string;
  logs: LogCapture;
  config: ServerConfig;
}

/**
 * Starts the real server in-process on an ephemeral 127.0.0.1 port, from an
 * environment as `npm start` would read it (no key → offline model).
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const cli = parseCli([], { PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', RATE_LIMIT: '1000000/minute', ...env });
  if (cli.kind !== 'config') throw new Error('unexpected --help');
  const logs = new LogCapture();
  const server = await startServer(cli.config, createLogger({ level: cli.config.logLevel, destination: logs }));
  return { ...server, baseUrl: `http://127.0.0.1:${server.restPort}`, logs, config: cli.config };
}
