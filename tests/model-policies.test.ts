import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createModelPolicies, type ResilienceSettings } from '../models/resilience/model-policies.js';

/**
 * The signal each model attempt gets: it follows the per-attempt timeout and
 * the caller's cancel, and it is aborted when the attempt fails (so what a
 * failed attempt left running upstream is cancelled). A successful attempt's
 * signal is left alone: nothing of it is still running, and aborting it cost
 * a DOMException per model call.
 */

const settings = (over: Partial<ResilienceSettings> = {}): ResilienceSettings => ({
  timeoutMs: 10_000,
  maxRetries: 0,
  retryBaseDelayMs: 1,
  breaker: { enabled: true, failureThreshold: 5, recoveryTimeoutMs: 30_000 },
  ...over,
});

describe('model policies: the attempt signal', () => {
  it('is not aborted by a successful attempt', async () => {
    let seen: AbortSignal | undefined;
    const result = await createModelPolicies(settings()).execute(async ({ signal }) => {
      seen = signal;
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.equal(seen!.aborted, false);
  });

  it('is aborted when the attempt fails, and the failure reaches the caller unchanged', async () => {
    let seen: AbortSignal | undefined;
    const failure = new Error('upstream broke mid-stream');
    await assert.rejects(
      createModelPolicies(settings()).execute(async ({ signal }) => {
        seen = signal;
        throw failure;
      }),
      (e: unknown) => e === failure,
    );
    assert.equal(seen!.aborted, true, 'whatever the failed attempt left running is cancelled');
  });

  it('is aborted when the per-attempt timeout passes, while the attempt still runs', async () => {
    let abortedWhileRunning = false;
    await createModelPolicies(settings({ timeoutMs: 30 })).execute(
      ({ signal }) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            abortedWhileRunning = true;
            resolve();
          });
        }),
    );
    assert.equal(abortedWhileRunning, true);
  });

  it("follows the caller's cancel", async () => {
    const caller = new AbortController();
    let sawCancel = false;
    const running = createModelPolicies(settings()).execute(
      ({ signal }) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            sawCancel = true;
            resolve();
          });
        }),
      caller.signal,
    );
    caller.abort(new Error('client went away'));
    await running;
    assert.equal(sawCancel, true);
  });
});
