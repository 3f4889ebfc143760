import { GenkitError, z } from 'genkit';
import { unwrap } from '../grpc/schema-model.js';

/**
 * The structured facts of an error, per Google AIP-193, shared by both
 * surfaces: gRPC sends them as `google.rpc.Status` details in
 * `grpc-status-details-bin` (grpc/error-status.ts), REST as proto3 JSON in
 * the `details` object of Genkit's error body (next to what was there before).
 *
 * - `errorInfo` on every error: a stable UPPER_SNAKE `reason` (see
 *   ERROR_REASONS) within our `domain`; clients branch on it, not on messages.
 * - `badRequest` on INVALID_ARGUMENT when fields are known: one violation per
 *   field. REST paths use JSON names (`targetLanguage`, `items[0].name`),
 *   gRPC the same path in proto names (`target_language`), as google.rpc
 *   documents for the two encodings.
 * - `retryInfo` on RESOURCE_EXHAUSTED / UNAVAILABLE when a retry can succeed
 *   (not for a request that is simply too large).
 */

export const ERROR_DOMAIN = 'genkit-flow-gateway';

/** Reasons this service sets explicitly; any other error's reason is its status name. */
export const ERROR_REASONS = {
  INVALID_INPUT: 'A field of the input breaks the flow schema (or is not valid UTF-8).',
  MALFORMED_REQUEST: 'The request body is not a decodable message (bad protobuf bytes, malformed JSON, wrong body shape).',
  UNSUPPORTED_ENCODING: 'The request body encoding or charset is not supported.',
  REQUEST_TOO_LARGE: 'The request is larger than the configured limit.',
  RATE_LIMITED: "The caller's rate limit is spent; retry after RetryInfo's delay.",
  SHUTTING_DOWN: 'This instance is draining; retry on another instance.',
  MODEL_UNAVAILABLE: "The model's circuit breaker is open; retry after RetryInfo's delay.",
  API_KEY_MISSING: 'No API key was presented.',
  API_KEY_INVALID: 'The API key presented is not accepted.',
} as const;

export interface FieldViolation {
  /** Path into the flow input in JSON names: `targetLanguage`, `items[0].name`, `labels["a b"]`; '' is the whole input. */
  field: string;
  description: string;
}

/** The facts, in proto3 JSON form (what REST sends; gRPC encodes the same values). */
export interface ErrorDetails {
  errorInfo: { reason: string; domain: string; metadata?: Record<string, string> };
  badRequest?: { fieldViolations: FieldViolation[] };
  /** Duration in proto3 JSON form, e.g. "30s". */
  retryInfo?: { retryDelay: string };
}

/** What error creators may put in `GenkitError.detail` for the facts above. */
export interface DetailHints {
  reason?: string;
  retryAfterSeconds?: number;
  /** Field violations (JSON-name paths). */
  badRequest?: { fieldViolations: FieldViolation[] };
  /** The older form: `path` joined with dots. */
  fields?: { path: string; message: string }[];
}

const REASON_PATTERN = /^[A-Z][A-Z0-9_]{0,62}$/;

export function errorDetails(error: GenkitError): ErrorDetails {
  const hints = (error.detail && typeof error.detail === 'object' ? error.detail : {}) as DetailHints;
  const reason = typeof hints.reason === 'string' && REASON_PATTERN.test(hints.reason) ? hints.reason : error.status;
  const details: ErrorDetails = { errorInfo: { reason, domain: ERROR_DOMAIN } };
  if (error.status === 'INVALID_ARGUMENT') {
    const violations = hints.badRequest?.fieldViolations ?? hints.fields?.map((f) => ({ field: f.path, description: f.message }));
    if (violations?.length) details.badRequest = { fieldViolations: violations };
  }
  if ((error.status === 'RESOURCE_EXHAUSTED' || error.status === 'UNAVAILABLE') && reason !== 'REQUEST_TOO_LARGE') {
    const seconds = typeof hints.retryAfterSeconds === 'number' ? hints.retryAfterSeconds : error.status === 'UNAVAILABLE' ? 1 : undefined;
    if (seconds !== undefined) details.retryInfo = { retryDelay: `${Math.max(0, Math.ceil(seconds))}s` };
  }
  return details;
}

/**
 * The error as REST sends it: Genkit's body `{status, message, details}` with
 * `details` = whatever the error carried (e.g. `fields`, `retryAfterSeconds`)
 * plus `errorInfo`, `badRequest`, `retryInfo`.
 */
export function withErrorDetails(error: GenkitError): GenkitError {
  const { reason: _reason, ...carried } = (error.detail && typeof error.detail === 'object' ? error.detail : {}) as Record<string, unknown>;
  const enriched = new GenkitError({
    status: error.status,
    message: error.originalMessage,
    detail: { ...carried, ...errorDetails(error) },
    source: error.source,
  });
  enriched.stack = error.stack;
  return enriched;
}

/**
 * JSON-name path of a Zod issue: object keys dotted, array indices in
 * brackets, record (map) keys bracketed and quoted — so that a key is never
 * mistaken for a field when the path is rendered in proto names. `schema`
 * (the flow's input schema) tells record keys apart; without it every string
 * that looks like a name is taken for a field.
 */
export function jsonFieldPath(path: readonly (string | number)[], schema?: z.ZodTypeAny): string {
  let out = '';
  let current: z.ZodTypeAny | undefined = schema;
  for (const segment of path) {
    const inner: z.ZodTypeAny | undefined = current ? unwrap(current).inner : undefined;
    if (typeof segment === 'number') {
      out += `[${segment}]`;
      current = inner instanceof z.ZodArray ? (inner.element as z.ZodTypeAny) : undefined;
    } else if (inner instanceof z.ZodRecord || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) {
      out += `[${JSON.stringify(segment)}]`;
      current = inner instanceof z.ZodRecord ? (inner.valueSchema as z.ZodTypeAny) : undefined;
    } else {
      out += out ? `.${segment}` : segment;
      current = inner instanceof z.ZodObject ? ((inner.shape as Record<string, z.ZodTypeAny>)[segment] ?? undefined) : undefined;
    }
  }
  return out;
}

/** A single-field INVALID_ARGUMENT (path in JSON names, as `jsonFieldPath` writes it), in the same shape as schema violations. */
export function invalidField(field: string, description: string): GenkitError {
  return new GenkitError({
    status: 'INVALID_ARGUMENT',
    message: `Invalid input: ${field || 'data'}: ${description}`,
    detail: {
      reason: 'INVALID_INPUT',
      fields: [{ path: field, message: description }],
      badRequest: { fieldViolations: [{ field, description }] },
    },
  });
}
