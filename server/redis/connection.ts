import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisSettings } from '../config.js';

/**
 * The one Redis connection of a process, and what the rest of the server
 * needs to know about it: is it usable right now?
 *
 * Redis is an accelerator, never a dependency: commands fail fast (no offline
 * queue, a short per-command timeout), so callers fall back to local state
 * instead of waiting. Whether Redis is "up" follows the connection's events
 * and a PING heartbeat, which also catches a Redis that is connected but hung
 * (a stopped process answers nothing, the socket stays open). Going down and
 * coming back are each logged once.
 */

export type RedisState = 'connecting' | 'up' | 'down';

export interface RedisConnection {
  client: Redis;
  settings: RedisSettings;
  /** True when commands are expected to succeed; callers skip Redis entirely otherwise. */
  isUp(): boolean;
  state(): RedisState;
  /** What /health shows: state and since when (no URL, no password). */
  describe(): { state: RedisState; since: string };
  /** A new connection with the same settings (blocking reads, pub/sub), closed by the caller. */
  duplicate(options?: { commandTimeoutMs?: number | null; offlineQueue?: boolean }): Redis;
  /** Reports a failed command (a timeout marks Redis down until the next successful heartbeat). */
  reportFailure(error: unknown): void;
  close(): Promise<void>;
}

const HEARTBEAT_MS = 1000;

export function connectRedis(settings: RedisSettings, logger: Logger): RedisConnection {
  const options = {
    // Fail commands at once while disconnected instead of queueing them behind a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: Math.max(1000, settings.commandTimeoutMs * 4),
    // Reconnect for ever, at most every 2 s.
    retryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
    // Re-sending a command after a reconnect could double-count a rate-limit point.
    autoResendUnfulfilledCommands: false,
  };
  const client = new Redis(settings.url, options);
  let state: RedisState = 'connecting';
  let since = new Date();
  const where = redactedUrl(settings.url);

  const set = (next: RedisState, reason?: string) => {
    if (next === state) return;
    const previous = state;
    state = next;
    since = new Date();
    if (next === 'up') {
      logger.info({ redis: where, previous }, previous === 'connecting' ? `Redis connected (${where})` : `Redis is back (${where}): sharing resumes`);
    } else if (next === 'down') {
      logger.warn(
        { redis: where, reason },
        `Redis unreachable (${where}): rate limits, cache and new streams fall back to this process until it returns`,
      );
    }
  };

  client.on('ready', () => set('up'));
  // ioredis emits 'error' for every failed reconnect; only the transition is logged.
  client.on('error', (e: Error) => set('down', e.message));
  client.on('close', () => {
    if (state === 'up') set('down', 'connection closed');
  });

  const heartbeat = setInterval(() => {
    if (client.status !== 'ready') return;
    client.ping().then(
      () => set('up'),
      (e: unknown) => {
        set('down', e instanceof Error ? e.message : String(e));
      },
    );
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return {
    client,
    settings,
    isUp: () => state === 'up' && client.status === 'ready',
    state: () => state,
    describe: () => ({ state, since: since.toISOString() }),
    duplicate: (overrides = {}) =>
      new Redis(settings.url, {
        ...options,
        commandTimeout: overrides.commandTimeoutMs === null ? undefined : (overrides.commandTimeoutMs ?? settings.commandTimeoutMs),
        enableOfflineQueue: overrides.offlineQueue ?? false,
      }),
    reportFailure: (error) => {
      if (error instanceof Error && /timed? ?out/i.test(error.message)) set('down', error.message);
    },
    close: async () => {
      clearInterval(heartbeat);
      client.disconnect();
    },
  };
}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(unparsable URL)';
  }
}
