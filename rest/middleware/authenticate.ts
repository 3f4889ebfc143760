import type { RequestHandler } from 'express';
import { GenkitError } from 'genkit';
import type { ContextProvider } from 'genkit/context';
import { sendError } from '../errors.js';

/**
 * Runs the shared context provider before the body is validated, so a caller
 * without a valid key gets 401 whatever it sent. (expressHandler runs the
 * same provider again to build the flow's context; it is cheap and pure.)
 */
export function authenticate(contextProvider: ContextProvider): RequestHandler {
  return (req, res, next) => {
    Promise.resolve()
      .then(() => contextProvider({ method: req.method as 'POST', headers: headersOf(req.headers), input: undefined }))
      .then(
        () => next(),
        (e: unknown) => {
          if (!(e instanceof GenkitError)) return next(e);
          // RFC 6750: a 401 names the scheme it wants; a key that was sent but is wrong is an invalid_token.
          if (e.status === 'UNAUTHENTICATED') res.setHeader('WWW-Authenticate', req.headers.authorization ? 'Bearer error="invalid_token"' : 'Bearer');
          sendError(res, e);
        },
      );
  };
}

function headersOf(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
