import type { RequestHandler } from 'express';
import { GenkitError } from 'genkit';
import type { ContextProvider } from 'genkit/context';
import { sendError } from '../errors.js';

/** `res.locals` key of the flow context the provider returned for this request. */
export const FLOW_CONTEXT = 'flowContext';

/**
 * Runs the shared context provider before the body is validated, so a caller
 * without a valid key gets 401 whatever it sent. Its result is kept in
 * `res.locals` and handed to expressHandler, so the provider runs once per
 * request. A synchronous provider (ours) costs no promise hop; one that
 * returns a promise is awaited.
 */
export function authenticate(contextProvider: ContextProvider): RequestHandler {
  return (req, res, next) => {
    const fail = (e: unknown) => {
      if (!(e instanceof GenkitError)) return next(e);
      // RFC 6750: a 401 names the scheme it wants; a key that was sent but is wrong is an invalid_token.
      if (e.status === 'UNAUTHENTICATED') res.setHeader('WWW-Authenticate', req.headers.authorization ? 'Bearer error="invalid_token"' : 'Bearer');
      sendError(res, e);
    };
    let result: unknown;
    try {
      result = contextProvider({ method: req.method as 'POST', headers: headersOf(req.headers), input: undefined });
    } catch (e: unknown) {
      return fail(e);
    }
    if (result instanceof Promise) {
      result.then((context: unknown) => {
        res.locals[FLOW_CONTEXT] = context ?? {};
        next();
      }, fail);
      return;
    }
    res.locals[FLOW_CONTEXT] = result ?? {};
    next();
  };
}

function headersOf(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in headers) {
    const value = headers[key];
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
