import cluster from 'node:cluster';
import { RateLimiterCluster, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from './rate-limiter-classes.js';
import type { RateLimit } from './config.js';
import type { RedisConnection } from './redis/connection.js';

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
  /** Who shares this budget right now: every replica (redis), this machine's workers (cluster) or this process. */
  scope?(): 'redis' | 'cluster' | 'process';
}

/** Key prefix of the limiter's counters (Redis keys and the cluster primary's table). */
const KEY_PREFIX = 'rl';

/**
 * - With Redis (up): one budget for every worker and replica (RateLimiterRedis).
 *   Its insurance limiter answers when a Redis command fails; while Redis is
 *   known to be down the insurance answers directly, without a doomed round trip.
 * - In a cluster worker: one budget for this machine's workers, kept by the
 *   primary (RateLimiterCluster; the primary runs RateLimiterClusterMaster).
 * - Otherwise: this process's own memory.
 */
export function createRateLimiter(limit: RateLimit, shared: { redis?: RedisConnection | null } = {}): SharedRateLimiter {
  const options = { points: limit.points, duration: limit.durationSeconds, keyPrefix: KEY_PREFIX };
  const local: RateLimiterAbstract = cluster.isWorker ? new RateLimiterCluster({ ...options, timeoutMs: 1000 }) : new RateLimiterMemory(options);
  const localScope = cluster.isWorker ? ('cluster' as const) : ('process' as const);
  const redis = shared.redis ?? null;
  const remote = redis
    ? new RateLimiterRedis({
        ...options,
        keyPrefix: `${redis.settings.keyPrefix}${KEY_PREFIX}`,
        storeClient: redis.client,
        insuranceLimiter: local,
        rejectIfRedisNotReady: true,
      })
    : null;
  const limiter = {
    consume: (key: string) => (remote && redis?.isUp() ? remote.consume(key) : local.consume(key)),
  };
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
    scope: () => (remote && redis?.isUp() ? 'redis' : localScope),
  };
}
