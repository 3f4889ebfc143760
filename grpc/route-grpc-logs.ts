import { setLogger } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { format } from 'node:util';

/**
 * grpc-js writes its own lines to stderr ("E No address added out of total 1
 * resolved"), outside the process's one JSON log format. Like Genkit's
 * (server/logger.ts), they go through pino, tagged `source: grpc-js`. A bind
 * failure is reported by our own message naming GRPC_PORT and the cause
 * (grpc/server.ts), so grpc-js's line for it is only worth a debug entry.
 */

const BIND_FAILURE = /^No address added out of total \d+ resolved/;

export function routeGrpcLogs(logger: Logger): void {
  const child = logger.child({ source: 'grpc-js' });
  const forward = (level: 'debug' | 'info' | 'error') => (message?: unknown, ...rest: unknown[]) => {
    const text = format(message, ...rest);
    child[level === 'error' && BIND_FAILURE.test(text) ? 'debug' : level](text);
  };
  setLogger({ error: forward('error'), info: forward('info'), debug: forward('debug') });
}
