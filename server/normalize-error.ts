import { GenkitError } from 'genkit';

/**
 * Turns anything thrown while serving a call into a GenkitError that is safe
 * to send: Genkit errors keep their status and message; an abort becomes
 * CANCELLED or DEADLINE_EXCEEDED (whichever reason the signal carries);
 * anything else becomes INTERNAL with a generic message, the cause kept for
 * the log only.
 */
export function normalizeError(error: unknown, signal?: AbortSignal): GenkitError {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof GenkitError) return reason;
    return new GenkitError({ status: 'CANCELLED', message: 'The call was cancelled.' });
  }
  if (error instanceof GenkitError) return error;
  return new GenkitError({ status: 'INTERNAL', message: 'Internal Error' });
}

/** The abort reasons adapters give their signals, so the status says why the flow stopped. */
export const abortReasons = {
  deadline: () => new GenkitError({ status: 'DEADLINE_EXCEEDED', message: 'The deadline expired before the flow finished.' }),
  cancelled: () => new GenkitError({ status: 'CANCELLED', message: 'The client cancelled the call.' }),
};
