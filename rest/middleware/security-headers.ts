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

export const securityHeaders: RequestHandler = (req, res, next) => {
  // helmet has no Permissions-Policy support; it is one fixed header.
  res.setHeader('Permissions-Policy', PERMISSIONS_POLICY);
  if (req.secure) res.setHeader('Strict-Transport-Security', HSTS);
  apiHelmet(req, res, next);
};
