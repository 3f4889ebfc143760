import type { RequestHandler } from 'express';
import type { SharedRateLimiter } from '../../server/rate-limiter.js';
import { genkitError, sendError } from '../errors.js';

/**
 * The shared limiter, keyed by client IP (`req.ip` honours TRUST_PROXY).
 * Sends the IETF RateLimit headers on every answer, and 429 + Retry-After
 * when the budget is spent.
 */
export function rateLimit(limiter: SharedRateLimiter): RequestHandler {
  return (req, res, next) => {
    limiter.take(req.ip ?? req.socket.remoteAddress ?? 'unknown').then((decision) => {
      res.setHeader('RateLimit-Policy', `${decision.limit};w=${decision.windowSeconds}`);
      res.setHeader('RateLimit-Limit', String(decision.limit));
      res.setHeader('RateLimit-Remaining', String(decision.remaining));
      res.setHeader('RateLimit-Reset', String(decision.resetSeconds));
      if (decision.allowed) return next();
      res.setHeader('Retry-After', String(decision.resetSeconds));
      sendError(
        res,
        genkitError('RESOURCE_EXHAUSTED', `Rate limit exceeded: retry in ${decision.resetSeconds} s.`, {
          reason: 'RATE_LIMITED',
          retryAfterSeconds: decision.resetSeconds,
        }),
      );
    }, next);
  };
}
