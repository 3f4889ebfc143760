import { GenkitError } from 'genkit';

/**
 * Every flow call in progress on either surface, so that shutdown can end the
 * ones that outlive the grace period with a proper status (an SSE `error:`
 * event on REST, a gRPC status) instead of a bare reset, and so that
 * streaming calls can be counted against MAX_CONCURRENT_STREAMS.
 *
 * A Set of controllers rather than one shared AbortSignal that every call
 * listens to: adding and removing a Set entry costs less per call than an
 * event listener, and nothing piles up on a long-lived signal.
 */
export interface InFlightCalls {
  /** Registers a call; the returned function unregisters it (call it when the call ends). */
  track(controller: AbortController, streaming: boolean): () => void;
  /** Streaming calls (REST SSE and gRPC server streams) in progress now. */
  readonly streams: number;
  /** Calls of any kind in progress now. */
  readonly size: number;
  /** Aborts every call in progress with `reason`; calls tracked later are aborted at once. */
  abortAll(reason: GenkitError): void;
}

/** The abort reason of calls cut short by shutdown: UNAVAILABLE, so clients retry elsewhere. */
export const shutdownAbortReason = () =>
  new GenkitError({ status: 'UNAVAILABLE', message: 'The server is shutting down; retry on another instance.' });

export function createInFlightCalls(): InFlightCalls {
  const calls = new Set<AbortController>();
  let streams = 0;
  let aborted: GenkitError | null = null;
  return {
    track(controller, streaming) {
      if (aborted) controller.abort(aborted);
      calls.add(controller);
      if (streaming) streams++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        calls.delete(controller);
        if (streaming) streams--;
      };
    },
    get streams() {
      return streams;
    },
    get size() {
      return calls.size;
    },
    abortAll(reason) {
      aborted = reason;
      for (const controller of calls) controller.abort(reason);
    },
  };
}
