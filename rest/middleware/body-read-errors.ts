import type { ErrorRequestHandler } from 'express';
import { genkitError, sendError } from '../errors.js';

/**
 * Client faults while reading the body that the generic error handler does
 * not know: body-parser hands them on as http-errors 4xx without a `type`
 * (a body labelled `Content-Encoding: gzip`/`br`/`deflate` that does not
 * decompress: zlib's "incorrect header check") or with a type it has no case
 * for (`request.size.invalid`: fewer bytes than Content-Length). They get a
 * 400 saying what was wrong, and no error-level log line or stack (the
 * access log records the 400). An encoding body-parser cannot decode at all
 * is already a 415 (`encoding.unsupported`), and a decompressed body over the
 * limit a 413.
 */
export const bodyReadErrors: ErrorRequestHandler = (err: unknown, req, res, next) => {
  const error = (typeof err === 'object' && err !== null ? err : {}) as { status?: number; expose?: boolean; type?: string };
  if (!error.expose || error.status !== 400) return next(err);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (error.type === undefined && encoding !== 'identity') {
    return sendError(res, genkitError('INVALID_ARGUMENT', `The request body is not valid ${encoding} data (Content-Encoding: ${encoding}).`));
  }
  if (error.type === 'request.size.invalid') {
    return sendError(res, genkitError('INVALID_ARGUMENT', 'The request body is shorter or longer than its Content-Length.'));
  }
  return next(err);
};
