import type { Logger } from 'pino';
import type { SharedCacheStore } from '../response-cache.js';
import type { RedisConnection } from './connection.js';

/**
 * The response cache's shared level on Redis: one string key per entry
 * (`<prefix>cache:<flow>:<sha256 of the input>`, the in-memory key), the
 * value as JSON, expiring with the cache TTL. Entries larger than
 * CACHE_MAX_ENTRY_BYTES stay local. Every failure reads as a miss and drops
 * the write; while Redis is down no command is sent at all.
 */
export function redisCacheStore(redis: RedisConnection, logger: Logger): SharedCacheStore {
  const prefix = `${redis.settings.keyPrefix}cache:`;
  const maxBytes = redis.settings.maxCacheEntryBytes;
  return {
    async get(key) {
      if (!redis.isUp()) return undefined;
      try {
        const [[getError, json], [ttlError, ttl]] = (await redis.client.multi().get(`${prefix}${key}`).pttl(`${prefix}${key}`).exec()) as [
          [Error | null, string | null],
          [Error | null, number],
        ];
        if (getError || ttlError || json === null || ttl <= 0) return undefined;
        return { value: JSON.parse(json) as unknown, ttlMs: ttl };
      } catch (e: unknown) {
        redis.reportFailure(e);
        return undefined;
      }
    },
    async set(key, value, ttlMs) {
      if (!redis.isUp()) return;
      const json = JSON.stringify(value);
      if (Buffer.byteLength(json) > maxBytes) {
        logger.debug({ key, bytes: Buffer.byteLength(json), maxBytes }, 'Response too large for the shared cache: kept locally only');
        return;
      }
      try {
        await redis.client.set(`${prefix}${key}`, json, 'PX', ttlMs);
      } catch (e: unknown) {
        redis.reportFailure(e);
      }
    },
  };
}
