import type { Request, RequestHandler } from 'express';
import { GenkitError } from 'genkit';
import type { ContextProvider } from 'genkit/context';
import type { SharedRateLimiter } from '../../server/rate-limiter.js';
import { sendError } from '../errors.js';

/**
 * Who may see what the API is made of. With API_KEYS set, /openapi.json,
 * /docs and the detail of /health (model, circuit, event loop) are for key
 * holders only; without keys the API is open and so are they. The key is
 * checked by the same context provider the flows use; besides
 * `Authorization: Bearer <key>` it is accepted as the password of HTTP Basic
 * (any user name), so a browser can open /docs: it asks for the credentials
 * once and sends them with the page's own /openapi.json request.
 */

export function presentsValidKey(contextProvider: ContextProvider, req: Request): Promise<boolean> {
  const authorization = bearerFromBasic(req.headers.authorization);
  return Promise.resolve()
    .then(() => contextProvider({ method: 'GET', headers: authorization ? { authorization } : {}, input: undefined }))
    .then(
      () => true,
      () => false,
    );
}

/** 401 for a caller without a valid key (the rate limiter runs before this, so guesses are limited). */
export function requireApiKey(contextProvider: ContextProvider): RequestHandler {
  return (req, res, next) => {
    presentsValidKey(contextProvider, req).then((allowed) => {
      if (allowed) return next();
      res.setHeader('WWW-Authenticate', 'Basic realm="API docs", charset="UTF-8"');
      sendError(res, new GenkitError({ status: 'UNAUTHENTICATED', message: 'The API docs need an API key: "Authorization: Bearer <key>".' }));
    }, next);
  };
}

/**
 * Full /health detail for key holders, the bare status for everyone else
 * (a load balancer needs no more). A probe that presents no key costs
 * nothing; one that does takes a rate-limit token, so /health cannot be used
 * to guess keys faster than the flows allow.
 */
export function healthDetailAllowed(contextProvider: ContextProvider, limiter: SharedRateLimiter, keysConfigured: boolean) {
  return async (req: Request): Promise<boolean> => {
    if (!keysConfigured) return true;
    if (!req.headers.authorization) return false;
    const decision = await limiter.take(req.ip ?? req.socket.remoteAddress ?? 'unknown');
    return decision.allowed && (await presentsValidKey(contextProvider, req));
  };
}

/** `Basic base64(user:key)` → `Bearer key`; anything else unchanged. */
function bearerFromBasic(authorization: string | undefined): string | undefined {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '')?.[1];
  if (!basic) return authorization;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? `Bearer ${decoded.slice(colon + 1)}` : undefined;
}
