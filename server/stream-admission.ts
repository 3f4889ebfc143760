import { GenkitError } from 'genkit';

/** Seconds a shed streaming call is told to wait before retrying (Retry-After / retry-after trailer). */
export const STREAM_RETRY_AFTER_SECONDS = 1;

/**
 * The answer to a streaming call over MAX_CONCURRENT_STREAMS: UNAVAILABLE
 * (HTTP 503) with a retry hint, given before any flow work starts. Shedding
 * at admission keeps the streams already running, and /health, responsive
 * during a burst instead of letting every stream slow down together.
 */
export function streamLimitError(): GenkitError {
  return new GenkitError({
    status: 'UNAVAILABLE',
    message: `Too many concurrent streams; retry in ${STREAM_RETRY_AFTER_SECONDS} s.`,
    detail: { retryAfterSeconds: STREAM_RETRY_AFTER_SECONDS, reason: 'TOO_MANY_STREAMS' },
  });
}
