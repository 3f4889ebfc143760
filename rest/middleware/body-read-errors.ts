import type { ErrorRequestHandler } from 'express';
import { genkitError, sendError } from '../errors.js';
import { MAX_INPUT_DEPTH } from '../../flows/admit-input.js';
import { TOO_DEEP } from '../json-depth.js';

/**
 * A body labelled `Content-Encoding: gzip`/`br`/`deflate` that does not
 * decompress (zlib's "incorrect header check"): body-parser hands that on as
 * an http-errors 400 without a `type`, which the generic error handler would
 * answer with 500 and a logged stack. It gets a 400 saying what was wrong,
 * and no error-level log line or stack (the access log records the 400). An
 * encoding body-parser cannot decode at all is already a 415
 * (`encoding.unsupported`), and a body that inflates past the limit a 413.
 * Also here: JSON refused by `rejectDeepJson` before parsing → 400.
 */
export const bodyReadErrors: ErrorRequestHandler = (err: unknown, req, res, next) => {
  const error = (typeof err === 'object' && err !== null ? err : {}) as { status?: number; expose?: boolean; type?: string };
  if (error.type === TOO_DEEP) {
    return sendError(res, genkitError('INVALID_ARGUMENT', `Invalid input: data nests deeper than ${MAX_INPUT_DEPTH} levels.`, { reason: 'INVALID_INPUT' }));
  }
  if (!error.expose || error.status !== 400) return next(err);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (error.type === undefined && encoding !== 'identity') {
    return sendError(res, genkitError('INVALID_ARGUMENT', `The request body is not valid ${encoding} data (Content-Encoding: ${encoding}).`, { reason: 'MALFORMED_REQUEST' }));
  }
  return next(err);
};
