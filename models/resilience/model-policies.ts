import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  handleWhen,
  noop,
  retry,
  timeout,
  TimeoutStrategy,
  wrap,
  type IPolicy,
} from 'cockatiel';
import { GenkitError } from 'genkit';
import { failureKind, retryAfterMs } from './upstream-errors.js';

/**
 * The policies around every model call, outermost first: circuit breaker →
 * retry → per-attempt timeout (cockatiel). Only upstream faults open the
 * circuit; only transient ones are retried; a caller's cancel is neither.
 */

export interface ResilienceSettings {
  /** Per-attempt timeout; its signal reaches the model's HTTP request. */
  timeoutMs: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  /** First retry delay; doubles per attempt, with jitter (unless the upstream sent Retry-After). */
  retryBaseDelayMs: number;
  breaker: {
    enabled: boolean;
    /** Consecutive upstream failures that open the circuit. */
    failureThreshold: number;
    /** How long the circuit stays open before one probe is let through. */
    recoveryTimeoutMs: number;
  };
}

export type BreakerStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN' | 'DISABLED';

export interface ModelPolicies {
  execute<T>(fn: (attempt: { signal: AbortSignal; attempt: number }) => Promise<T>, callerSignal?: AbortSignal): Promise<T>;
  breakerState(): BreakerStateName;
  /** Called on every breaker state change (for logs). */
  onStateChange(listener: (state: BreakerStateName) => void): void;
}

const MAX_BACKOFF_MS = 30_000;

/** The abort reason of a failed attempt's own signal (the failure itself is what the caller gets). */
const ATTEMPT_FAILED = new GenkitError({ status: 'ABORTED', message: 'The model call attempt failed.' });

/**
 * One attempt, on a signal of its own that follows cockatiel's (per-attempt
 * timeout, caller's cancel) and is also aborted when the attempt fails, so
 * whatever it left running (an upstream response not read to its end, a
 * stream broken midway) is cancelled — what cockatiel's `abortOnReturn`
 * did. That option aborted on every return, successes included: Node builds
 * a DOMException (with a stack trace) and dispatches an 'abort' event for
 * each, ≈20 µs of every model call in a CPU profile, for a model call that
 * has nothing left to cancel once it succeeded.
 */
async function runAttempt<T>(fn: (attempt: { signal: AbortSignal; attempt: number }) => Promise<T>, policySignal: AbortSignal, attempt: number): Promise<T> {
  const own = new AbortController();
  const follow = () => own.abort(policySignal.reason);
  if (policySignal.aborted) follow();
  else policySignal.addEventListener('abort', follow);
  try {
    return await fn({ signal: own.signal, attempt });
  } catch (e: unknown) {
    if (!own.signal.aborted) own.abort(ATTEMPT_FAILED);
    throw e;
  } finally {
    policySignal.removeEventListener('abort', follow);
  }
}

export function createModelPolicies(settings: ResilienceSettings): ModelPolicies {
  const listeners: ((state: BreakerStateName) => void)[] = [];
  const notify = (state: BreakerStateName) => listeners.forEach((listener) => listener(state));

  const retryPolicy = retry(
    handleWhen((e) => failureKind(e) === 'transient'),
    {
      maxAttempts: settings.maxRetries,
      backoff: new DelegateBackoff((context) => {
        const upstreamAsked = 'error' in context.result ? retryAfterMs(context.result.error) : undefined;
        if (upstreamAsked !== undefined) return Math.min(upstreamAsked, MAX_BACKOFF_MS);
        const exponential = Math.min(MAX_BACKOFF_MS, settings.retryBaseDelayMs * 2 ** (context.attempt - 1));
        return Math.round(exponential * (0.5 + Math.random() / 2)); // "equal jitter": half fixed, half random
      }),
    },
  );
  // abortOnReturn: false — see runAttempt (the attempt's signal is still aborted when it fails or times out).
  const attemptTimeout = timeout(settings.timeoutMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });

  let opensAt = 0;
  const breaker = settings.breaker.enabled
    ? circuitBreaker(
        handleWhen((e) => {
          const kind = failureKind(e);
          return kind === 'transient' || kind === 'upstream';
        }),
        { halfOpenAfter: settings.breaker.recoveryTimeoutMs, breaker: new ConsecutiveBreaker(settings.breaker.failureThreshold) },
      )
    : null;
  if (breaker) {
    breaker.onBreak(() => {
      opensAt = Date.now();
      notify('OPEN');
    });
    breaker.onHalfOpen(() => notify('HALF_OPEN'));
    breaker.onReset(() => notify('CLOSED'));
  }
  const policy: IPolicy = wrap(breaker ?? noop, retryPolicy, attemptTimeout);

  return {
    async execute(fn, callerSignal) {
      try {
        return await policy.execute(({ signal, attempt }: { signal: AbortSignal; attempt?: number }) => runAttempt(fn, signal, attempt ?? 0), callerSignal);
      } catch (e: unknown) {
        if (e instanceof BrokenCircuitError) {
          const retryAfterSeconds = Math.max(1, Math.ceil((opensAt + settings.breaker.recoveryTimeoutMs - Date.now()) / 1000));
          throw new GenkitError({
            status: 'UNAVAILABLE',
            message: `The model is unavailable (circuit open after repeated upstream failures); retry in ${retryAfterSeconds} s.`,
            detail: { retryAfterSeconds, reason: 'MODEL_UNAVAILABLE' },
          });
        }
        throw e;
      }
    },
    breakerState() {
      if (!breaker) return 'DISABLED';
      switch (breaker.state) {
        case CircuitState.Open:
        case CircuitState.Isolated:
          return 'OPEN';
        case CircuitState.HalfOpen:
          return 'HALF_OPEN';
        case CircuitState.Closed:
          return 'CLOSED';
      }
    },
    onStateChange(listener) {
      listeners.push(listener);
    },
  };
}
