import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { GenkitError, type ActionContext } from 'genkit';
import type { ContextProvider, RequestData } from 'genkit/context';
import type { ApiKey } from './config.js';

/**
 * The one Genkit context provider both surfaces use: REST hands it the HTTP
 * headers (through `expressHandler`), gRPC hands it the call metadata as
 * lower-case headers. It authenticates the caller (when API keys are
 * configured) and returns the flow's context.
 */

export interface FlowContext extends ActionContext {
  /** The request ID (see `requestIdFrom`). */
  requestId: string;
  /** The authenticated caller, when API keys are configured. */
  auth?: { name: string };
  /** What the flow reports back to the adapter for this call (e.g. the cache outcome → X-Cache). */
  response: { cache?: 'HIT' | 'MISS' };
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Reuses the caller's X-Request-ID when it is a sane token, else makes a UUID: one rule for both surfaces. */
export function requestIdFrom(headers: Record<string, string | string[] | undefined>): string {
  const offered = headers['x-request-id'];
  return typeof offered === 'string' && SANE_REQUEST_ID.test(offered) ? offered : randomUUID();
}

export interface FlowContextOptions {
  /** Accepted keys; empty means the API is open. */
  apiKeys: ApiKey[];
}

export function createFlowContextProvider(options: FlowContextOptions): ContextProvider<FlowContext> {
  // Compare digests, not keys: equal lengths for timingSafeEqual, and no length leak.
  const keys = options.apiKeys.map(({ name, key }) => ({ name, digest: sha256(key) }));
  return (request: RequestData) => {
    const context: FlowContext = { requestId: requestIdFrom(request.headers), response: {} };
    if (keys.length === 0) return context;
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!presented) throw unauthenticated('Missing API key: send "Authorization: Bearer <key>".', 'API_KEY_MISSING');
    const digest = sha256(presented);
    let match: string | undefined;
    // Check every key (no early exit), so timing does not reveal which one matched.
    for (const key of keys) if (timingSafeEqual(key.digest, digest)) match ??= key.name;
    if (!match) throw unauthenticated('Invalid API key.', 'API_KEY_INVALID');
    return { ...context, auth: { name: match } };
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function unauthenticated(message: string, reason: 'API_KEY_MISSING' | 'API_KEY_INVALID'): GenkitError {
  return new GenkitError({ status: 'UNAUTHENTICATED', message, detail: { reason } });
}
