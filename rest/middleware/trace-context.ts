import { context, trace } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { RequestHandler } from 'express';
import { activeSpanContext, TRACE_ID_HEADER } from '../../telemetry/active-trace.js';

/**
 * Right after the request ID: names the request's trace in the response
 * (X-Trace-ID, on every response including errors) and puts the request ID
 * on the server span, so a log line, a response and a trace can each lead
 * to the other two.
 */
export const traceContext: RequestHandler = (req, res, next) => {
  const spanContext = activeSpanContext();
  if (spanContext) {
    res.setHeader(TRACE_ID_HEADER, spanContext.traceId);
    trace.getSpan(context.active())?.setAttribute('request.id', String(req.headers['x-request-id']));
  }
  next();
};

/**
 * Names the server span after the matched route (`POST /translateText`, and
 * the `http.route` attribute). This is the hook the http instrumentation
 * reads, the same one OpenTelemetry's express instrumentation sets (that
 * instrumentation does not support express 5).
 */
export function spanRoute(route: string): RequestHandler {
  return (_req, _res, next) => {
    const metadata = getRPCMetadata(context.active());
    if (metadata?.type === RPCType.HTTP) metadata.route = route;
    next();
  };
}
