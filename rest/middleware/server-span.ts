import type { IncomingMessage } from 'node:http';
import { context, isSpanContextValid, type Context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Request, RequestHandler } from 'express';
import { TRACE_ID_HEADER } from '../../telemetry/active-trace.js';

/**
 * A server span per REST request, with the stable HTTP semantic-convention
 * attributes, continuing the caller's trace (W3C `traceparent`, or whatever
 * OTEL_PROPAGATORS configures). Everything after this middleware — access
 * log, limiter, auth, the flow and its model calls — runs with the span
 * active, so their log lines and Genkit's spans join the trace. The
 * response names the trace (X-Trace-ID).
 *
 * Why not OpenTelemetry's http instrumentation: it patches every
 * http.Server in the process, including Genkit's reflection server under
 * `genkit start`; leaving that server out is only possible with its
 * ignore hook, which suppresses tracing for the whole request, so Dev UI
 * runs would lose their Genkit traces. (Its express instrumentation, at the
 * version matching Genkit's SDK, does not support express 5 either.)
 */

const tracer = trace.getTracer('genkit-flow-gateway/http');

/** Health probes every few seconds would drown the real traces. */
export const untracedPath = (req: IncomingMessage): boolean => (req.url ?? '/').split('?')[0] === '/health';

export const serverSpan: RequestHandler = (req, res, next) => {
  if (untracedPath(req)) return next();
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tracer.startSpan(
    req.method,
    { kind: SpanKind.SERVER, attributes: requestAttributes(req) },
    parent,
  );
  const active = trace.setSpan(parent, span);
  // Not context.bind(active, req/res): that wraps every listener method of
  // both emitters per request (two thirds of this middleware's cost in a CPU
  // profile). The middleware chain runs inside context.with below, and
  // promise continuations keep it; the one place it is lost is a body
  // parser's callback (it runs on the socket's 'end' event), which
  // `inSpanContext` restores. Listeners that run after the response (the
  // access line, span end) use what was captured here instead.
  const spanContext = span.spanContext();
  if (isSpanContextValid(spanContext)) {
    res.setHeader(TRACE_ID_HEADER, spanContext.traceId);
    res.locals.trace = spanContext;
  }
  res.locals.traceContext = active;

  // A response emits 'close' once, after 'finish' or when the connection drops
  // first: one plain listener (no once-wrapper) ends the span either way.
  res.on('close', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    // Server spans: 5xx is an error, 4xx is the caller's doing (semantic conventions).
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    if (!res.writableFinished) span.setAttribute('http.response.aborted', true);
    span.end();
  });
  context.with(active, next);
};

/**
 * Wraps a middleware that continues from a stream event (a body parser), so
 * `next` runs in the request's span context again: Genkit's flow span then
 * becomes a child of the server span (x-genkit-trace-id = x-trace-id).
 */
export function inSpanContext(middleware: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const active = res.locals.traceContext as Context | undefined;
    if (!active) middleware(req, res, next);
    else middleware(req, res, (err?: unknown) => context.with(active, next, undefined, err));
  };
}

/** Names the span after the matched route (`POST /translateText`) and sets `http.route`. */
export function spanRoute(route: string): RequestHandler {
  // One name string per method and route, not a new concatenated string kept by every open stream's span.
  const names = new Map<string, string>();
  return (req, _res, next) => {
    const span = trace.getSpan(context.active());
    if (span) {
      let name = names.get(req.method);
      if (name === undefined) names.set(req.method, (name = `${req.method} ${route}`));
      span.setAttribute('http.route', route);
      span.updateName(name);
    }
    next();
  };
}

function requestAttributes(req: Request): Record<string, string | number> {
  const attributes: Record<string, string | number> = {
    'http.request.method': req.method,
    'url.path': req.path,
    'url.scheme': req.protocol,
    'network.protocol.version': req.httpVersion,
    'request.id': String(req.headers['x-request-id']),
  };
  if (req.socket.localPort) attributes['server.port'] = req.socket.localPort;
  if (req.ip) attributes['client.address'] = req.ip;
  const userAgent = req.headers['user-agent'];
  if (userAgent) attributes['user_agent.original'] = userAgent;
  return attributes;
}
