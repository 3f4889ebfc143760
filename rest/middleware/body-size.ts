import type { RequestHandler } from 'express';
import { genkitError, sendError } from '../errors.js';

/**
 * Refuses a declared Content-Length over the limit (413) before reading any
 * of the body; the JSON parser enforces the same limit on chunked bodies.
 */
export function bodySizeLimit(maxBytes: number): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared <= maxBytes) return next();
    res.setHeader('Connection', 'close');
    sendError(res, genkitError('RESOURCE_EXHAUSTED', `Request body exceeds the limit of ${maxBytes} bytes.`, { reason: 'REQUEST_TOO_LARGE' }), 413);
  };
}
