import type { RequestHandler } from 'express';
import { requestIdFrom } from '../../server/flow-context.js';

/**
 * First in the chain: settles the request ID (the shared rule), writes it back
 * into the request headers so the context provider sees the same value, and
 * echoes it in the response.
 */
export const requestId: RequestHandler = (req, res, next) => {
  const id = requestIdFrom(req.headers);
  req.headers['x-request-id'] = id;
  res.setHeader('X-Request-ID', id);
  next();
};
