import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';

/**
 * One access line per request (pino-http): method, path, status, duration,
 * request ID and client IP. Only those fields are serialized, so headers
 * (Authorization, cookies) never reach the log. `req.log` is the request's
 * child logger: every line it writes carries the request ID.
 */
export function accessLog(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage) => String(req.headers['x-request-id']),
    customAttributeKeys: { responseTime: 'durationMs' },
    // On the access line and on every line written through req.log.
    customProps: (req: IncomingMessage) => ({ requestId: req.headers['x-request-id'] }),
    serializers: {
      req: (req: { method: string; url: string; raw: IncomingMessage & { ip?: string } }) => ({
        method: req.method,
        path: req.url.split('?')[0],
        clientIp: req.raw.ip ?? req.raw.socket?.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    // Fields known only at the end of the request.
    customSuccessObject: (_req: IncomingMessage, res: ServerResponse, value: Record<string, unknown>) => {
      const cache = res.getHeader('x-cache');
      return cache ? { ...value, cache } : value;
    },
    customSuccessMessage: (req: IncomingMessage, res: ServerResponse) => `${req.method} ${req.url?.split('?')[0]} ${res.statusCode}`,
    customErrorMessage: (req: IncomingMessage, res: ServerResponse) => `${req.method} ${req.url?.split('?')[0]} ${res.statusCode}`,
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
      error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
  }) as unknown as RequestHandler;
}
