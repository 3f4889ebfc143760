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

export function createFlowCache(settings: CacheSettings): FlowCache {
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
        const promise = compute(controller.signal).then(
          (value) => {
            stored.set(key, { value });
            return value;
          },
        );
        const created: InFlight = { promise, controller, waiters: 0 };
        promise.then(
          () => inFlight.delete(key),
          () => inFlight.delete(key),
        );
        inFlight.set(key, created);
        entry = created;
      }
      const shared = entry;
      shared.waiters++;
      try {
        const value = (await untilAborted(shared.promise, callerSignal)) as T;
        return { value: structuredClone(value), outcome: leader ? ('MISS' as const) : ('HIT' as const) };
      } finally {
        shared.waiters--;
        if (shared.waiters === 0 && callerSignal.aborted) shared.controller.abort(callerSignal.reason);
      }
    },
  };
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
