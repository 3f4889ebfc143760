import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * In-memory TTL + LRU cache for idempotent flows, with request coalescing:
 * concurrent identical calls share one computation (one model call), and
 * only successes are stored. The shared computation is cancelled only when
 * every caller waiting for it has gone.
 */

export interface CacheSettings {
  ttlMs: number;
  maxEntries: number;
}

/**
 * A second level shared by every worker and replica (Redis). It never throws:
 * an unreachable store reads as a miss and drops writes.
 */
export interface SharedCacheStore {
  /** The value and how many ms it has left, or undefined. */
  get(key: string): Promise<{ value: unknown; ttlMs: number } | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
}

export type CacheOutcome = 'HIT' | 'MISS';

export interface FlowCache {
  getOrCompute<T>(
    flowName: string,
    input: unknown,
    callerSignal: AbortSignal,
    compute: (signal: AbortSignal) => Promise<T>,
  ): Promise<{ value: T; outcome: CacheOutcome }>;
}

interface InFlight {
  promise: Promise<unknown>;
  controller: AbortController;
  waiters: number;
}

export function createFlowCache(settings: CacheSettings, shared: SharedCacheStore | null = null): FlowCache {
  const stored = new LRUCache<string, { value: unknown }>({ max: settings.maxEntries, ttl: settings.ttlMs });
  const inFlight = new Map<string, InFlight>();

  return {
    async getOrCompute<T>(flowName: string, input: unknown, callerSignal: AbortSignal, compute: (signal: AbortSignal) => Promise<T>) {
      const key = `${flowName}:${createHash('sha256').update(canonicalJson(input)).digest('hex')}`;
      const cached = stored.get(key);
      if (cached) return { value: structuredClone(cached.value) as T, outcome: 'HIT' as const };

      let entry = inFlight.get(key);
      const leader = !entry;
      if (!entry) {
        const controller = new AbortController();
        // The shared lookup belongs to the coalesced computation: concurrent identical calls here make one.
        const promise = (shared ? fromShared(shared, key, stored) : Promise.resolve(undefined)).then(async (found) => {
          if (found) return found;
          const value = await compute(controller.signal);
          stored.set(key, { value });
          if (shared) void shared.set(key, value, settings.ttlMs);
          return { value, outcome: 'MISS' as const };
        });
        const created: InFlight = { promise, controller, waiters: 0 };
        promise.then(
          () => inFlight.delete(key),
          () => inFlight.delete(key),
        );
        inFlight.set(key, created);
        entry = created;
      }
      const running = entry;
      running.waiters++;
      try {
        const result = (await untilAborted(running.promise, callerSignal)) as { value: T; outcome: CacheOutcome };
        return { value: structuredClone(result.value), outcome: leader ? result.outcome : ('HIT' as const) };
      } finally {
        running.waiters--;
        if (running.waiters === 0 && callerSignal.aborted) running.controller.abort(callerSignal.reason);
      }
    },
  };
}

/** A HIT from the shared store, kept locally for what is left of its TTL. */
async function fromShared(
  shared: SharedCacheStore,
  key: string,
  local: LRUCache<string, { value: unknown }>,
): Promise<{ value: unknown; outcome: CacheOutcome } | undefined> {
  const found = await shared.get(key);
  if (!found) return undefined;
  local.set(key, { value: found.value }, { ttl: Math.max(1, found.ttlMs) });
  return { value: found.value, outcome: 'HIT' };
}

/** Resolves with the promise, or rejects with the caller's abort reason as soon as it fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** JSON with object keys sorted at every level, so equal inputs give equal keys. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
