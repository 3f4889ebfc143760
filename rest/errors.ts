import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { GenkitError, type StatusName } from 'genkit';
import { getCallableJSON, getHttpStatus } from 'genkit/context';
import { logger } from 'genkit/logging';
import { withErrorDetails } from '../server/error-details.js';

/**
 * Every error body this surface writes is Genkit's callable error JSON
 * (`{status, message, details}`) with the HTTP status from Genkit's own
 * status mapping: one vocabulary for flows, our middleware and clients.
 * `details` carries the AIP-193 facts gRPC sends in grpc-status-details-bin
 * (`errorInfo`, `badRequest`, `retryInfo`; see server/error-details.ts).
 */

export function sendError(res: Response, error: GenkitError, httpStatus = getHttpStatus(error)): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(httpStatus).json(getCallableJSON(withErrorDetails(error)));
}

/** `reason`: a stable ErrorInfo reason (server/error-details.ts ERROR_REASONS); `retryAfterSeconds` → RetryInfo. */
export function genkitError(status: StatusName, message: string, detail?: { reason?: string; retryAfterSeconds?: number }): GenkitError {
  return new GenkitError({ status, message, ...(detail ? { detail } : {}) });
}

/** Unknown paths: JSON, not express's HTML page. */
export const notFound: RequestHandler = (req, res) => {
  sendError(res, genkitError('NOT_FOUND', `No flow at ${req.method} ${req.path}.`));
};

/** body-parser's error types, see https://github.com/expressjs/body-parser#errors */
interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/**
 * Last-resort handler: maps body-parser failures to clean 400/413/415 errors
 * and anything else to a generic INTERNAL error. It never writes a stack
 * trace, a file path or the raw message of an unknown error; those go to the log.
 */
export const errorHandler: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
  const parserError = (typeof err === 'object' && err !== null ? err : {}) as BodyParserError;
  switch (parserError.type) {
    case 'entity.parse.failed':
      return sendError(res, genkitError('INVALID_ARGUMENT', 'Malformed JSON in the request body.', { reason: 'MALFORMED_REQUEST' }));
    case 'entity.too.large':
      // Genkit has no status name for 413; RESOURCE_EXHAUSTED is the closest, sent with HTTP 413.
      return sendError(
        res,
        genkitError('RESOURCE_EXHAUSTED', `Request body exceeds the limit of ${parserError.limit ?? 'the configured'} bytes.`, { reason: 'REQUEST_TOO_LARGE' }),
        413,
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return sendError(res, genkitError('INVALID_ARGUMENT', 'Unsupported request body encoding.', { reason: 'UNSUPPORTED_ENCODING' }), 415);
    case 'request.aborted':
      return sendError(res, genkitError('CANCELLED', 'The client aborted the request.'), 400);
    default:
      if (err instanceof GenkitError) return sendError(res, err);
      logger.error(`Unhandled error while serving a request: ${err instanceof Error ? err.stack : String(err)}`);
      return sendError(res, genkitError('INTERNAL', 'Internal Error'));
  }
};
