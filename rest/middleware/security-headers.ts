import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * Headers for an API server (helmet): nothing may be framed, sniffed or
 * loaded. HSTS only on requests that arrived over HTTPS (`req.secure`, which
 * honours TRUST_PROXY), since plain-HTTP deployments must not send it.
 */
const apiHelmet = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"] } },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  crossOriginOpenerPolicy: { policy: 'same-origin' },
  strictTransportSecurity: false,
});

const HSTS = 'max-age=31536000; includeSubDomains';
const PERMISSIONS_POLICY = 'geolocation=(), camera=(), microphone=()';

/**
 * helmet's headers for this configuration do not depend on the request, so
 * they are computed once, by running helmet against a recording response at
 * start-up, and set from that list per request: the same headers helmet
 * sends (helmet stays their source), without its chain of a dozen middleware
 * calls per request.
 */
const HELMET_HEADERS: ReadonlyArray<readonly [string, string]> = recordHelmetHeaders();

function recordHelmetHeaders(): Array<[string, string]> {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
  };
  let done = false;
  apiHelmet({ secure: false } as never, recorder as never, (err?: unknown) => {
    if (err) throw err;
    done = true;
  });
  if (!done) throw new Error('helmet did not finish synchronously: its headers cannot be precomputed');
  return [...headers];
}

export const securityHeaders: RequestHandler = (req, res, next) => {
  for (const [name, value] of HELMET_HEADERS) res.setHeader(name, value);
  // helmet has no Permissions-Policy support; it is one fixed header.
  res.setHeader('Permissions-Policy', PERMISSIONS_POLICY);
  if (req.secure) res.setHeader('Strict-Transport-Security', HSTS);
  next();
};
