import type { RequestHandler } from 'express';
import { genkitError, sendError } from '../errors.js';

/**
 * With TRUSTED_HOSTS set, a request for any other Host is refused (400): no
 * Host-header poisoning. An entry without a port (`api.example.com`) accepts
 * that host on any port; an entry with one (`localhost:8080`) only that exact
 * Host header. (`req.host` keeps the port, `req.hostname` drops it; both honour
 * `trust proxy` for X-Forwarded-Host.)
 */
export function trustedHosts(hosts: string[]): RequestHandler {
  const allowed = new Set(hosts.map((h) => h.toLowerCase()));
  return (req, res, next) => {
    if (allowed.size === 0 || allowed.has((req.hostname ?? '').toLowerCase()) || allowed.has((req.host ?? '').toLowerCase())) return next();
    sendError(res, genkitError('INVALID_ARGUMENT', 'Untrusted Host header.'));
  };
}
