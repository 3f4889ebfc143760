import { GenkitError, StreamNotFoundError, type ActionStreamSubscriber } from 'genkit/beta';
import { getCallableJSON } from 'genkit/context';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConnection } from './connection.js';

/**
 * Resumable streams on Redis Streams. One stream key per flow stream
 * (`<prefix>stream:<id>`), one entry per event, in order:
 *   t=o f=<flow>        opened
 *   t=c p=<chunk JSON>  a chunk
 *   t=d p=<result JSON> finished with a result
 *   t=e p=<error JSON>  finished with an error ({status, message})
 * Every append refreshes the key's expiry (STREAM_TTL_MS), so a stream lives
 * that long after its last event. A reader replays the entries with XRANGE,
 * then follows new ones with a blocking XREAD on its own connection (a
 * blocking read on the shared connection would stall every other command).
 *
 * Cancels travel on one pub/sub channel: whichever replica runs the flow aborts it.
 */

export type StreamEvent = { kind: 'chunk'; data: unknown } | { kind: 'done'; data: unknown } | { kind: 'error'; error: GenkitError };

export interface RemoteStreams {
  /** Starts a stream; false when Redis could not take it (the caller keeps it in-process). */
  create(id: string, flowName: string): Promise<boolean>;
  /** Appends one event; rejects when Redis fails. */
  append(id: string, event: StreamEvent): Promise<void>;
  /** Replays then follows a stream; StreamNotFoundError when unknown or expired. */
  subscribe<S, O>(id: string, subscriber: ActionStreamSubscriber<S, O>): Promise<{ unsubscribe: () => void }>;
  /** The stream's flow and whether it is still running, or null when unknown. */
  describe(id: string): Promise<{ flowName: string; running: boolean } | null>;
  publishCancel(id: string): Promise<void>;
  close(): Promise<void>;
}

/** How long one blocking read waits before checking that the stream still exists. */
const BLOCK_MS = 1000;

export function redisStreams(redis: RedisConnection, options: { ttlMs: number; logger: Logger; onCancel: (id: string) => void }): RemoteStreams {
  const prefix = redis.settings.keyPrefix;
  const key = (id: string) => `${prefix}stream:${id}`;
  const cancelChannel = `${prefix}stream-cancel`;
  const readers = new Set<Redis>();

  // One subscriber connection per process for cancels (ioredis re-subscribes after reconnects).
  const cancels = redis.duplicate({ commandTimeoutMs: null, offlineQueue: true });
  cancels.on('error', () => undefined); // state changes are logged by the main connection
  void cancels.subscribe(cancelChannel).catch(() => undefined);
  cancels.on('message', (channel: string, id: string) => {
    if (channel === cancelChannel) options.onCancel(id);
  });

  const append = async (id: string, fields: string[]) => {
    await redis.client
      .multi()
      .xadd(key(id), '*', ...fields)
      .pexpire(key(id), options.ttlMs)
      .exec()
      .then((replies) => {
        const failed = replies?.find(([error]) => error);
        if (!replies || failed) throw failed?.[0] ?? new Error('Redis MULTI was aborted');
      });
  };

  return {
    async create(id, flowName) {
      if (!redis.isUp()) return false;
      try {
        await append(id, ['t', 'o', 'f', flowName]);
        return true;
      } catch (e: unknown) {
        redis.reportFailure(e);
        return false;
      }
    },
    async append(id, event) {
      const payload = event.kind === 'error' ? getCallableJSON(event.error) : event.data;
      await append(id, ['t', event.kind === 'chunk' ? 'c' : event.kind === 'done' ? 'd' : 'e', 'p', JSON.stringify(payload ?? null)]);
    },
    async subscribe(id, subscriber) {
      if (!redis.isUp()) throw unavailable();
      let entries: [string, string[]][];
      try {
        entries = await redis.client.xrange(key(id), '-', '+');
      } catch (e: unknown) {
        redis.reportFailure(e);
        throw unavailable();
      }
      if (entries.length === 0) throw new StreamNotFoundError(`Stream with id ${id} not found.`);
      let lastId = '0';
      const deliver = (batch: [string, string[]][]): boolean => {
        for (const [entryId, fields] of batch) {
          lastId = entryId;
          const event = decode(fields);
          if (!event) continue;
          if (event.kind === 'chunk') subscriber.onChunk(event.data as never);
          else if (event.kind === 'done') {
            subscriber.onDone(event.data as never);
            return true;
          } else {
            subscriber.onError(event.error);
            return true;
          }
        }
        return false;
      };
      if (deliver(entries)) return { unsubscribe: () => undefined };

      let stopped = false;
      const reader = redis.duplicate({ commandTimeoutMs: BLOCK_MS + redis.settings.commandTimeoutMs, offlineQueue: true });
      reader.on('error', () => undefined);
      readers.add(reader);
      const stop = () => {
        stopped = true;
        readers.delete(reader);
        reader.disconnect();
      };
      void (async () => {
        try {
          while (!stopped) {
            const reply = await reader.xread('BLOCK', BLOCK_MS, 'STREAMS', key(id), lastId);
            if (stopped) return;
            if (!reply) {
              // Nothing new: the stream may have expired (its producer died); then there is nothing to wait for.
              if ((await redis.client.exists(key(id))) === 0) {
                subscriber.onError(new GenkitError({ status: 'UNAVAILABLE', message: 'The stream expired before it finished.' }));
                return;
              }
              continue;
            }
            if (deliver(reply[0]![1])) return;
          }
        } catch (e: unknown) {
          if (stopped) return;
          redis.reportFailure(e);
          subscriber.onError(unavailable());
        } finally {
          if (!stopped) stop();
        }
      })();
      return { unsubscribe: stop };
    },
    async describe(id) {
      if (!redis.isUp()) return null;
      try {
        const [first] = await redis.client.xrange(key(id), '-', '+', 'COUNT', 1);
        if (!first) return null;
        const [last] = await redis.client.xrevrange(key(id), '+', '-', 'COUNT', 1);
        const flowName = field(first[1], 'f') ?? '';
        const lastKind = last ? field(last[1], 't') : undefined;
        return { flowName, running: lastKind === 'o' || lastKind === 'c' };
      } catch (e: unknown) {
        redis.reportFailure(e);
        return null;
      }
    },
    async publishCancel(id) {
      try {
        await redis.client.publish(cancelChannel, id);
      } catch (e: unknown) {
        redis.reportFailure(e);
        throw unavailable();
      }
    },
    async close() {
      for (const reader of readers) reader.disconnect();
      readers.clear();
      cancels.disconnect();
    },
  };
}

function unavailable(): GenkitError {
  return new GenkitError({ status: 'UNAVAILABLE', message: 'Stream storage (Redis) is unreachable; retry with the same x-genkit-stream-id.' });
}

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function decode(fields: string[]): StreamEvent | null {
  const type = field(fields, 't');
  const payload = field(fields, 'p');
  if (type === 'o' || payload === undefined) return null;
  const data = JSON.parse(payload) as unknown;
  if (type === 'c') return { kind: 'chunk', data };
  if (type === 'd') return { kind: 'done', data };
  // The callable error JSON as stored: status, message and (AIP-193) details come back as sent live.
  const error = (data ?? {}) as { status?: GenkitError['status']; message?: string; details?: unknown };
  return {
    kind: 'error',
    error: new GenkitError({ status: error.status ?? 'INTERNAL', message: error.message ?? 'Internal Error', ...(error.details === undefined ? {} : { detail: error.details }) }),
  };
}
