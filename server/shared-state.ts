import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';
import { workerInfo } from './cluster-worker.js';
import { createRateLimiter, type SharedRateLimiter } from './rate-limiter.js';
import { redisCacheStore } from './redis/cache-store.js';
import type { RedisConnection } from './redis/connection.js';
import { createFlowCache, type FlowCache } from './response-cache.js';
import { createDurableStreams, type DurableStreams } from './streams/durable-streams.js';

/**
 * What workers and replicas share, built from the config: the rate limiter,
 * the response cache and the resumable streams, on Redis when REDIS_URL is set
 * (each falling back to this process while Redis is down), otherwise in this
 * process (the limiter: across this machine's workers).
 */
export interface SharedState {
  limiter: SharedRateLimiter;
  cache: FlowCache | null;
  streams: DurableStreams;
  /** For /health: workers, Redis and where the limit is kept. */
  health(): Record<string, unknown>;
  /** During shutdown: lets durable streams whose clients are gone finish (up to `graceMs`). */
  drain(graceMs: number): Promise<void>;
  /** After the servers have closed: drops the Redis connections. */
  close(): Promise<void>;
}

export async function createSharedState(config: ServerConfig, logger: Logger): Promise<SharedState> {
  // ioredis (≈50 files, ≈45 ms) is loaded only when REDIS_URL asks for it: a cold start without Redis skips it.
  const redis: RedisConnection | null = config.redis ? (await import('./redis/connection.js')).connectRedis(config.redis, logger) : null;
  const limiter = createRateLimiter(config.rateLimit, { redis });
  const cache = config.cache ? createFlowCache(config.cache, redis ? redisCacheStore(redis, logger) : null) : null;
  const streams = createDurableStreams({ ttlMs: config.streamTtlMs, redis, logger });
  return {
    limiter,
    cache,
    streams,
    health: () => ({
      workers: workerInfo(config.workers),
      // Only when REDIS_URL is set: `up`, `down` (serving from local state) or `connecting`.
      ...(redis ? { redis: redis.state() } : {}),
    }),
    drain: (graceMs) => streams.drain(graceMs),
    close: async () => {
      await streams.close();
      await redis?.close();
    },
  };
}
