import type { RequestHandler } from 'express';
import { genkitError, sendError } from '../errors.js';

/** With TRUSTED_HOSTS set, a request for any other Host is refused (400): no Host-header poisoning. */
export function trustedHosts(hosts: string[]): RequestHandler {
  const allowed = new Set(hosts.map((h) => h.toLowerCase()));
  return (req, res, next) => {
    if (allowed.size === 0 || allowed.has((req.hostname ?? '').toLowerCase())) return next();
    sendError(res, genkitError('INVALID_ARGUMENT', 'Untrusted Host header.'));
  };
}
