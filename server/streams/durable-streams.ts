import {
  GenkitError,
  InMemoryStreamManager,
  StreamNotFoundError,
  type ActionStreamInput,
  type ActionStreamSubscriber,
  type StreamManager,
} from 'genkit/beta';
import type { Logger } from 'pino';
import { abortReasons } from '../normalize-error.js';
import type { RedisConnection } from '../redis/connection.js';
import { redisStreams, type RemoteStreams, type StreamEvent } from '../redis/stream-store.js';

/**
 * Resumable ("durable") streams behind Genkit's StreamManager interface, for
 * REST (expressHandler's `streamManager`) and gRPC alike.
 *
 * - With Redis up, a new stream is written to Redis Streams: any replica can
 *   replay it. Otherwise (no REDIS_URL, or Redis down when the stream starts)
 *   it lives in this process (Genkit's InMemoryStreamManager).
 * - A durable stream's flow is not tied to its client's connection: it runs to
 *   the end (bounded by the model timeout) so a reconnect finds every chunk.
 *   It stops early only on an explicit cancel (`cancel`, which reaches the
 *   replica running it over Redis pub/sub) or when the server shuts down.
 * - Streams are kept STREAM_TTL_MS after their last event.
 */

export interface DurableStreams {
  /** The StreamManager of one call of `flowName`; `controller` aborts that call's flow on a cancel. */
  forCall(flowName: string, controller: AbortController): StreamManager;
  /** Asks the flow behind a stream to stop, on whichever replica runs it. */
  cancel(flowName: string, id: string): Promise<'cancelled' | 'finished' | 'not-found'>;
  /** Streams whose flow runs in this process. */
  running(): number;
  /** Lets running flows finish for up to `graceMs` (clients may be gone), then aborts the rest. */
  drain(graceMs: number): Promise<void>;
  /** Releases the Redis connections of stream readers (after the servers have closed). */
  close(): Promise<void>;
}

interface Running {
  flowName: string;
  controller: AbortController;
  finished: Promise<void>;
  finish: () => void;
}

export function createDurableStreams(options: { ttlMs: number; redis: RedisConnection | null; logger: Logger }): DurableStreams {
  const local = new InMemoryStreamManager({ ttlSeconds: Math.ceil(options.ttlMs / 1000) });
  const running = new Map<string, Running>();
  const abortRunning = (id: string, reason: GenkitError) => running.get(id)?.controller.abort(reason);
  const remote: RemoteStreams | null = options.redis
    ? redisStreams(options.redis, { ttlMs: options.ttlMs, logger: options.logger, onCancel: (id) => abortRunning(id, abortReasons.cancelled()) })
    : null;

  const open = async <S, O>(id: string, flowName: string, controller: AbortController): Promise<ActionStreamInput<S, O>> => {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    running.set(id, { flowName, controller, finished, finish });
    const end = () => {
      running.delete(id);
      finish();
    };
    if (!(remote && (await remote.create(id, flowName)))) {
      const input = await local.open<S, O>(id);
      return {
        write: (chunk) => input.write(chunk),
        done: async (output) => {
          await input.done(output);
          end();
        },
        error: async (err) => {
          await input.error(err);
          end();
        },
      };
    }
    // Never rejects: expressHandler does not catch what these return. A failed
    // write leaves the Redis copy incomplete; the live client still gets everything.
    let lost = false;
    const push = async (event: StreamEvent) => {
      if (lost) return;
      try {
        await remote.append(id, event);
      } catch (e: unknown) {
        lost = true;
        options.redis?.reportFailure(e);
        options.logger.warn({ streamId: id, err: e }, 'A stream could not be written to Redis: it cannot be resumed');
      }
    };
    return {
      write: (chunk) => push({ kind: 'chunk', data: chunk }),
      done: async (output) => {
        await push({ kind: 'done', data: output });
        end();
      },
      error: async (err) => {
        await push({ kind: 'error', error: err instanceof GenkitError ? err : new GenkitError({ status: 'INTERNAL', message: 'Internal Error' }) });
        end();
      },
    };
  };

  const subscribe = async <S, O>(id: string, subscriber: ActionStreamSubscriber<S, O>) => {
    try {
      return await local.subscribe<S, O>(id, subscriber);
    } catch (e: unknown) {
      if (!(e instanceof StreamNotFoundError) || !remote) throw e;
    }
    return remote.subscribe<S, O>(id, subscriber);
  };

  return {
    forCall: (flowName, controller) => ({
      open: <S, O>(id: string) => open<S, O>(id, flowName, controller),
      subscribe,
    }),
    async cancel(flowName, id) {
      const entry = running.get(id);
      if (entry) {
        if (entry.flowName !== flowName) return 'not-found';
        entry.controller.abort(abortReasons.cancelled());
        return 'cancelled';
      }
      if (remote) {
        const described = await remote.describe(id);
        if (described && described.flowName === flowName) {
          if (!described.running) return 'finished';
          await remote.publishCancel(id);
          return 'cancelled';
        }
      }
      try {
        // Known here and not running: it finished (flow names of in-process streams are not kept after that).
        await local.subscribe(id, { onChunk: () => undefined, onDone: () => undefined, onError: () => undefined });
        return 'finished';
      } catch {
        return 'not-found';
      }
    },
    running: () => running.size,
    async drain(graceMs) {
      const pending = () => [...running.values()].map((r) => r.finished);
      if (running.size > 0) await Promise.race([Promise.all(pending()), delay(graceMs)]);
      for (const id of running.keys()) {
        abortRunning(id, new GenkitError({ status: 'UNAVAILABLE', message: 'The server shut down before the flow finished; call it again.' }));
      }
      // Give the aborted flows a moment to record their error, so a resume gets it instead of waiting.
      if (running.size > 0) await Promise.race([Promise.all(pending()), delay(1000)]);
    },
    close: async () => remote?.close(),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
