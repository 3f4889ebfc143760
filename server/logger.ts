import cluster from 'node:cluster';
import { logger as genkitLogger } from 'genkit/logging';
import { pino, type DestinationStream, type Logger } from 'pino';
import { PACKAGE_NAME } from './config.js';
import { traceLogFields } from '../telemetry/active-trace.js';
import { classifyGenkitLine } from './genkit-request-failures.js';

export interface LoggerOptions {
  /** pino level name. */
  level: string;
  /** json: one object per line (default); console: pretty (pino-pretty). */
  format?: 'json' | 'console';
  /** Where JSON lines go; stdout when omitted (tests pass a capture stream). */
  destination?: DestinationStream;
}

/** Paths whose values are secrets: they never reach a log line. */
export const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  'apiKeys',
  'config.model.apiKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-goog-api-key"]',
  'headers.authorization',
  'headers.cookie',
];

export function createLogger(options: LoggerOptions): Logger {
  // Buffered writes to stdout: under load one write per 4 KiB of log lines
  // instead of one per line; a timer flushes what a quiet server buffered.
  const destination =
    options.destination ??
    (options.format === 'console'
      ? pino.transport({ target: 'pino-pretty', options: { colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l' } })
      : bufferedStdout());
  return pino(
    {
      level: options.level,
      // Under WEB_CONCURRENCY > 1, which worker wrote the line.
      base: { service: PACKAGE_NAME, ...(cluster.isWorker ? { worker: cluster.worker?.id, pid: process.pid } : {}) },
      // trace_id/span_id of the request being served, on every line it writes.
      mixin: traceLogFields,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

const FLUSH_EVERY_MS = 500;

/**
 * Synchronous (pino's default mode) with a 4 KiB buffer. The asynchronous
 * mode cost more per line on a busy server: each 4 KiB write went through
 * libuv's thread pool (a thread hand-off, which on a server given one core
 * shares that core), its completion re-encoded the written string into a
 * Buffer, and while a write was in flight every new line re-measured the
 * growing pending string (up to 16 KiB) in `Buffer.byteLength`. In CPU
 * profiles under gRPC load the access line cost ≈19 µs per call that way.
 * A synchronous write of 4 KiB to a pipe or file is one short syscall; like
 * any synchronous stdout, a log reader that stops reading stalls the server
 * instead of growing its memory.
 */
function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: true, minLength: 4096 });
  setInterval(() => stream.flush(), FLUSH_EVERY_MS).unref();
  return stream;
}

/**
 * Sends Genkit's own log lines (model errors, plugin warnings) through pino
 * too, so the process writes one JSON format only. Genkit calls
 * `level(message, metadata?)`; pino wants `(object, message)`.
 */
export function routeGenkitLogs(logger: Logger): void {
  const child = logger.child({ source: 'genkit' });
  const forward = (level: 'debug' | 'info' | 'warn' | 'error') => (message: unknown, metadata?: unknown) => {
    const fields = metadata && typeof metadata === 'object' ? (metadata as Record<string, unknown>) : {};
    const line = classifyGenkitLine(level, message instanceof Error ? message.message : String(message));
    child[line.level](line.status ? { ...fields, status: line.status } : fields, line.message);
  };
  genkitLogger.init({
    level: logger.level === 'trace' ? 'debug' : logger.level,
    debug: forward('debug'),
    info: forward('info'),
    warn: forward('warn'),
    error: forward('error'),
  });
}
