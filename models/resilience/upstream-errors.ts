import { GenkitError, type StatusName } from 'genkit';

/**
 * Classifies what a model call threw, so the policies know what to retry and
 * what counts against the circuit, and so callers always get a GenkitError
 * with the right status: the google-genai plugin (1.42) throws GenkitErrors
 * for HTTP errors, but plain Errors for aborts and connection failures.
 */

/** Why a model call failed, as far as the policies are concerned. */
export type FailureKind =
  /** Worth another attempt: UNAVAILABLE, RESOURCE_EXHAUSTED, a timed-out attempt, a dropped connection. */
  | 'transient'
  /** An upstream fault that is not worth retrying (INTERNAL, UNKNOWN …), but counts against the circuit. */
  | 'upstream'
  /** The request itself is wrong (INVALID_ARGUMENT, FAILED_PRECONDITION, PERMISSION_DENIED …): never retried, never counted. */
  | 'request'
  /** The caller went away or its deadline passed: never retried, never counted. */
  | 'caller';

const KIND = Symbol('failureKind');
const RETRY_AFTER_MS = Symbol('retryAfterMs');

export interface ClassifiedError extends GenkitError {
  [KIND]: FailureKind;
  [RETRY_AFTER_MS]?: number;
}

const TRANSIENT: ReadonlySet<StatusName> = new Set(['UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'DEADLINE_EXCEEDED', 'ABORTED']);
const UPSTREAM: ReadonlySet<StatusName> = new Set(['INTERNAL', 'UNKNOWN', 'DATA_LOSS']);

export interface AttemptSignals {
  /** The caller's signal (client disconnect, gRPC deadline). */
  caller?: AbortSignal;
  /** This attempt's signal (our per-attempt timeout, or the caller's). */
  attempt: AbortSignal;
  /** Chunks already reached the caller: the call cannot be replayed. */
  streamed: boolean;
}

export function classify(error: unknown, signals: AttemptSignals): ClassifiedError {
  if (signals.caller?.aborted) {
    const reason: unknown = signals.caller.reason;
    const status = reason instanceof GenkitError ? reason.status : 'CANCELLED';
    return mark(new GenkitError({ status, message: reason instanceof GenkitError ? reason.originalMessage : 'The call was cancelled.' }), 'caller');
  }
  if (signals.attempt.aborted) {
    return mark(new GenkitError({ status: 'DEADLINE_EXCEEDED', message: 'The model did not answer within LLM_TIMEOUT_MS.' }), noReplay('transient', signals));
  }
  if (error instanceof GenkitError) {
    const status = gatewayStatus(error) ?? error.status;
    const kind: FailureKind = TRANSIENT.has(status) ? 'transient' : UPSTREAM.has(status) ? 'upstream' : 'request';
    const classified = mark(new GenkitError({ status, message: `Model call failed: ${withoutUrl(error.originalMessage)}` }), noReplay(kind, signals));
    const retryAfterMs = (error.responseMetadata as { retryAfterMs?: number } | undefined)?.retryAfterMs;
    if (retryAfterMs !== undefined) classified[RETRY_AFTER_MS] = retryAfterMs;
    return classified;
  }
  // A plain Error from the plugin: fetch failed (connection refused or reset) or a broken stream.
  return mark(new GenkitError({ status: 'UNAVAILABLE', message: 'Model call failed: the connection to the model failed.' }), noReplay('transient', signals));
}

/** After the first chunk reached the caller, a transient failure is reported, not retried. */
function noReplay(kind: FailureKind, signals: AttemptSignals): FailureKind {
  return kind === 'transient' && signals.streamed ? 'upstream' : kind;
}

function mark(error: GenkitError, kind: FailureKind): ClassifiedError {
  const classified = error as ClassifiedError;
  classified[KIND] = kind;
  return classified;
}

export function failureKind(error: unknown): FailureKind | undefined {
  return (error as Partial<ClassifiedError> | undefined)?.[KIND];
}

export function retryAfterMs(error: unknown): number | undefined {
  return (error as Partial<ClassifiedError> | undefined)?.[RETRY_AFTER_MS];
}

/**
 * The plugin maps only 400/429/499/500/503 to statuses; a gateway's 502 or
 * 504 arrives as UNKNOWN with "[504 Gateway Timeout]" in the message, and is
 * as transient as a 503.
 */
function gatewayStatus(error: GenkitError): 'UNAVAILABLE' | 'DEADLINE_EXCEEDED' | undefined {
  if (error.status !== 'UNKNOWN') return undefined;
  const code = /\[(\d{3}) /.exec(error.originalMessage)?.[1];
  return code === '502' ? 'UNAVAILABLE' : code === '504' ? 'DEADLINE_EXCEEDED' : undefined;
}

/**
 * What of an upstream message a caller may see: the plugin prefixes it with
 * the upstream URL (an internal gateway, maybe) and appends the raw error
 * details (quota data, project numbers), which stay in the logs only.
 */
function withoutUrl(message: string): string {
  return message
    .split('\nDetails:')[0]!
    .replace(/^Error fetching from \S+: /, '')
    .replace(/https?:\/\/\S+/g, '<upstream>');
}
