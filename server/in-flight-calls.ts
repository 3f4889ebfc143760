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
  /**
   * Registers a call; the returned function unregisters it (call it when the
   * call ends). At shutdown the call is ended with `end(reason)` when given
   * (the surface that must also send a status, gRPC), else its controller is aborted.
   */
  track(controller: AbortController, end?: (reason: GenkitError) => void): () => void;
  /**
   * Takes a streaming slot (REST SSE or gRPC server stream) under
   * MAX_CONCURRENT_STREAMS: the returned function gives it back; null means
   * the cap is reached and the call must be shed.
   */
  admitStream(): (() => void) | null;
  /** Streaming calls (REST SSE and gRPC server streams) admitted and not yet finished. */
  readonly streams: number;
  /** Calls of any kind in progress now. */
  readonly size: number;
  /** Aborts every call in progress with `reason`; calls tracked later are aborted at once. */
  abortAll(reason: GenkitError): void;
}

/** The abort reason of calls cut short by shutdown: UNAVAILABLE, so clients retry elsewhere. */
export const shutdownAbortReason = () =>
  new GenkitError({ status: 'UNAVAILABLE', message: 'The server is shutting down; retry on another instance.', detail: { reason: 'SHUTTING_DOWN' } });

/** `maxConcurrentStreams` 0 = no cap. */
export function createInFlightCalls(maxConcurrentStreams: number): InFlightCalls {
  const calls = new Map<AbortController, ((reason: GenkitError) => void) | undefined>();
  let streams = 0;
  let aborted: GenkitError | null = null;
  return {
    track(controller, end) {
      if (aborted) controller.abort(aborted);
      calls.set(controller, end);
      return () => calls.delete(controller);
    },
    admitStream() {
      if (maxConcurrentStreams > 0 && streams >= maxConcurrentStreams) return null;
      streams++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        streams--;
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
      for (const [controller, end] of [...calls]) {
        if (end) end(reason);
        else controller.abort(reason);
      }
    },
  };
}
