import { context, isSpanContextValid, trace, type SpanContext } from '@opentelemetry/api';

/**
 * The trace the current call belongs to, read from OpenTelemetry's active
 * context: the server span of the HTTP request or RPC, or a Genkit span
 * inside it. Undefined outside a request (start-up lines, timers).
 */
export function activeSpanContext(): SpanContext | undefined {
  const spanContext = trace.getSpan(context.active())?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext : undefined;
}

/**
 * pino mixin: every line written while a request is being served carries
 * its trace, under the field names OpenTelemetry's log correlation uses
 * (`trace_id`, `span_id`, `trace_flags`), so log backends link the two.
 */
export function traceLogFields(): Record<string, string> {
  const spanContext = activeSpanContext();
  if (!spanContext) return {};
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: spanContext.traceFlags.toString(16).padStart(2, '0'),
  };
}

/** Response header (REST) and metadata key (gRPC, headers and trailers) that name the trace of the call. */
export const TRACE_ID_HEADER = 'x-trace-id';
