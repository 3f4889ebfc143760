import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit } from './config.js';

/**
 * The one per-client-IP limiter, shared by REST and gRPC (a client cannot
 * double its budget by switching surface).
 */

export interface RateDecision {
  allowed: boolean;
  /** Calls per window. */
  limit: number;
  remaining: number;
  /** Seconds until the window resets (for Retry-After / RateLimit-Reset). */
  resetSeconds: number;
  /** Window length in seconds (for RateLimit-Policy). */
  windowSeconds: number;
}

export interface SharedRateLimiter {
  take(clientKey: string): Promise<RateDecision>;
}

export function createRateLimiter(limit: RateLimit): SharedRateLimiter {
  const limiter = new RateLimiterMemory({ points: limit.points, duration: limit.durationSeconds });
  const decision = (res: RateLimiterRes, allowed: boolean): RateDecision => ({
    allowed,
    limit: limit.points,
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    windowSeconds: limit.durationSeconds,
  });
  return {
    async take(clientKey) {
      try {
        return decision(await limiter.consume(clientKey), true);
      } catch (rejection: unknown) {
        if (rejection instanceof RateLimiterRes) return decision(rejection, false);
        throw rejection;
      }
    },
  };
}
