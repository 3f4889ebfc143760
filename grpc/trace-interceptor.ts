import {
  Metadata,
  ServerInterceptingCall,
  status as GrpcStatus,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter } from '@opentelemetry/api';
import { TRACE_ID_HEADER } from '../telemetry/active-trace.js';

/**
 * A server span per RPC, named and attributed as OpenTelemetry's RPC
 * conventions say (`rpc.system`, `rpc.service`, `rpc.method`,
 * `rpc.grpc.status_code`), continuing the caller's trace from `traceparent`
 * metadata. Done as an interceptor (not the grpc instrumentation, which
 * wraps only handlers) so that calls refused before the handler (rate
 * limit, auth) are traced too, and so the rest of the chain — the access
 * log, the limiter, the handler and the flow it runs — executes with the
 * span active: their log lines and Genkit's spans join this trace.
 */

const tracer = trace.getTracer('genkit-flow-gateway/grpc');

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const values = metadata.get(key).filter((v): v is string => typeof v === 'string');
    return values.length > 0 ? values : undefined;
  },
};

/** Server faults per the RPC semantic conventions; other codes are the caller's doing and leave the span status unset. */
const SERVER_FAULTS = new Set<GrpcStatus>([
  GrpcStatus.UNKNOWN,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.UNIMPLEMENTED,
  GrpcStatus.INTERNAL,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DATA_LOSS,
]);

/**
 * Must come after the request-ID interceptor (it reads the settled
 * `x-request-id`) and before the others (they run inside the span).
 * `isUntraced` skips health checks and reflection.
 */
export function traceInterceptor(isUntraced: (path: string) => boolean): ServerInterceptor {
  return (method: ServerMethodDefinition<unknown, unknown>, call: ServerInterceptingCallInterface) => {
    if (isUntraced(method.path)) return new ServerInterceptingCall(call);
    const [service = '', rpcMethod = ''] = method.path.replace(/^\//, '').split('/');
    let span: Span | undefined;
    let active: Context = ROOT_CONTEXT;
    const inSpan = (fn: () => void) => context.with(active, fn);
    const end = (code: GrpcStatus) => {
      if (!span) return;
      span.setAttribute('rpc.grpc.status_code', code);
      if (SERVER_FAULTS.has(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: GrpcStatus[code] });
      span.end();
      span = undefined;
    };

    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
            const requestId = metadata.get('x-request-id')[0];
            span = tracer.startSpan(
              `${service}/${rpcMethod}`,
              {
                kind: SpanKind.SERVER,
                attributes: {
                  'rpc.system': 'grpc',
                  'rpc.service': service,
                  'rpc.method': rpcMethod,
                  ...(typeof requestId === 'string' ? { 'request.id': requestId } : {}),
                  ...peerAttributes(call),
                },
              },
              parent,
            );
            active = trace.setSpan(parent, span);
            inSpan(() => nextMetadata(metadata));
          },
          // Messages and half-close reach the handler through these: running
          // them in the span's context is what makes the handler's work its children.
          onReceiveMessage: (message, nextMessage) => inSpan(() => nextMessage(message)),
          onReceiveHalfClose: (nextHalfClose) => inSpan(() => nextHalfClose()),
          onCancel: () => end(GrpcStatus.CANCELLED),
        }),
      sendMetadata: (metadata, next) => {
        const traceId = validTraceId(span);
        if (traceId) metadata.set(TRACE_ID_HEADER, traceId);
        next(metadata);
      },
      sendStatus: (status, next) => {
        const traceId = validTraceId(span);
        const trailers = status.metadata ?? new Metadata();
        if (traceId) trailers.set(TRACE_ID_HEADER, traceId);
        end(status.code);
        next({ ...status, metadata: trailers });
      },
    });
  };
}

/** Without a tracer provider (telemetry never started) spans carry an all-zero id: no header then. */
function validTraceId(span: Span | undefined): string | undefined {
  const spanContext = span?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

function peerAttributes(call: ServerInterceptingCallInterface): Record<string, string | number> {
  const info = call.getConnectionInfo();
  return {
    ...(info.remoteAddress ? { 'network.peer.address': info.remoteAddress } : {}),
    ...(info.remotePort ? { 'network.peer.port': info.remotePort } : {}),
  };
}
