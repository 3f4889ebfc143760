import type { RequestHandler } from 'express';
import cors from 'cors';

export interface CorsPolicyOptions {
  /** Origins allowed to call the API from a browser. */
  allowedOrigins: string[];
  /** With no list, debug allows any origin. */
  debug: boolean;
}

/** Same-origin only by default (no CORS headers); named origins, or `*` in debug without a list. */
export function corsPolicy(options: CorsPolicyOptions): RequestHandler {
  const allowed = new Set(options.allowedOrigins);
  const anyOrigin = options.debug && allowed.size === 0;
  return cors({
    origin: anyOrigin ? '*' : (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    // DELETE and x-genkit-stream-id: cancelling and resuming durable streams.
    methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-Request-ID', 'X-Genkit-Stream-Id'],
    exposedHeaders: ['X-Request-ID', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'X-Genkit-Stream-Id'],
    credentials: false,
    maxAge: 600,
  });
}
