import {
  Metadata,
  status as GrpcStatus,
  type ServerInterceptingCall,
  type Deadline,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter } from '@opentelemetry/api';
import { GenkitError, type ActionContext } from 'genkit';
import type { ContextProvider } from 'genkit/context';
import type { Logger } from 'pino';
import { admitCall, type AdmissionPacer } from '../server/admission-pacer.js';
import { requestIdFrom } from '../server/flow-context.js';
import { abortReasons } from '../server/normalize-error.js';
import type { RateDecision, SharedRateLimiter } from '../server/rate-limiter.js';
import type { InFlightCalls } from '../server/in-flight-calls.js';
import type { WarningSummary } from '../server/warning-summary.js';
import { TRACE_ID_HEADER } from '../telemetry/active-trace.js';
import { grpcStatusOf } from './error-status.js';

/**
 * The one server interceptor: what REST's middleware chain does, for RPCs,
 * in a single layer wrapped directly around grpc-js's call (no
 * ServerInterceptingCall/listener objects per rule):
 * - request ID: settled from `x-request-id` (same rule as REST), passed on, echoed in headers and trailers;
 * - trace: a server span per RPC (OpenTelemetry RPC conventions, caller's
 *   `traceparent` continued); the handler runs in it, so Genkit's spans and
 *   log lines join the trace; `x-trace-id` in headers and trailers;
 * - gate: shutdown → UNAVAILABLE, the shared limiter → RESOURCE_EXHAUSTED,
 *   the shared context provider (auth) → its error; run once per call, and
 *   the context it returns is what the flow gets (see `callStateOf`);
 * - deadline: when the client's deadline passes, the flow is aborted and the
 *   call ends with DEADLINE_EXCEEDED; nothing is written after it;
 * - access log: one line per RPC with the status the client received.
 * Health checks and reflection (`isExempt`) get the request ID and the access
 * line only.
 */

export interface GatewayOptions {
  logger: Logger;
  limiter: SharedRateLimiter;
  contextProvider: ContextProvider;
  /** Methods that skip tracing, the limiter and auth (health checks, reflection). */
  isExempt: (path: string) => boolean;
  /** True once shutdown has begun: new calls get UNAVAILABLE. */
  isDraining: () => boolean;
  /** Calls in progress (shutdown ends the ones outliving the grace period with UNAVAILABLE). */
  calls?: InFlightCalls;
  /** Summarises repeated RESOURCE_EXHAUSTED lines (a flood must not write one line per refused call). */
  warnings?: WarningSummary;
  /** Told the peer of every RESOURCE_EXHAUSTED call (the rapid-reset guard counts them per connection). */
  onRefused?: (peer: string) => void;
  /**
   * Spreads bursts of new calls over event-loop turns (shared with REST).
   * Calls pass it as their metadata arrives, before the span, the limiter,
   * auth and the handler: a burst of HTTP/2 streams read in one socket read
   * then does only grpc-js's own per-stream work in that turn. Exempt methods
   * (health checks) are never paced.
   */
  pacer?: AdmissionPacer;
}

/** What the gateway settled for an admitted call, for the handler (keyed by the call's request metadata). */
export interface CallState {
  /** The flow context the context provider returned. */
  context: ActionContext;
  /** Aborted when the client cancels, the deadline passes, or the call ends early. */
  signal: AbortSignal;
}

/** grpc-js types its package index does not export, taken from the interface they belong to. */
type Call = ServerInterceptingCallInterface;
type InterceptingServerListener = Parameters<Call['start']>[0];
type PartialStatus = Parameters<Call['sendStatus']>[0];

const callStates = new WeakMap<Metadata, CallState>();

export function callStateOf(metadata: Metadata): CallState | undefined {
  return callStates.get(metadata);
}

const tracer = trace.getTracer('genkit-flow-gateway/grpc');

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const values = metadata.get(key);
    if (values.length === 1) return typeof values[0] === 'string' ? values[0] : undefined;
    const strings = values.filter((v): v is string => typeof v === 'string');
    return strings.length > 0 ? strings : undefined;
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

/** Access-log level: faults of ours (or the deadline) are errors, the caller's mistakes warnings. */
const ERROR_LEVEL = new Set<GrpcStatus>([
  GrpcStatus.INTERNAL,
  GrpcStatus.UNKNOWN,
  GrpcStatus.DATA_LOSS,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
]);

/**
 * grpc-js's deadline timer and ours are armed for the same instant but read
 * different clocks (libuv's monotonic ms vs Date.now()); a cancellation this
 * close to the deadline is the deadline.
 */
const DEADLINE_SLACK_MS = 2;

interface MethodInfo {
  path: string;
  service: string;
  method: string;
  spanName: string;
  exempt: boolean;
  /** Client or bidi streaming: the handler runs as messages arrive, not only at half-close. */
  requestStream: boolean;
}

export function gatewayInterceptor(options: GatewayOptions): ServerInterceptor {
  const methods = new Map<string, MethodInfo>();
  const info = (definition: ServerMethodDefinition<unknown, unknown>): MethodInfo => {
    const path = definition.path;
    let found = methods.get(path);
    if (!found) {
      const [service = '', method = ''] = path.replace(/^\//, '').split('/');
      found = { path, service, method, spanName: `${service}/${method}`, exempt: options.isExempt(path), requestStream: definition.requestStream };
      methods.set(path, found);
    }
    return found;
  };
  // The access line holds only the fields `finish` builds, none at a redacted path (server/logger.ts),
  // so redaction could never change it: a child without it writes the identical line and skips
  // the redaction pass (≈4 KiB of allocation per call in a heap profile). REST's access log does the same.
  const gatewayOptions: GatewayOptions = { ...options, logger: options.logger.child({}, { redact: [] }) };
  // grpc-js types an interceptor's result as its ServerInterceptingCall class but
  // only ever uses it through ServerInterceptingCallInterface, which GatewayCall
  // implements directly (no per-rule responder and listener objects per call).
  return (method: ServerMethodDefinition<unknown, unknown>, call: ServerInterceptingCallInterface) =>
    new GatewayCall(info(method), call, gatewayOptions) as unknown as ServerInterceptingCall;
}

class GatewayCall implements ServerInterceptingCallInterface {
  private readonly started = performance.now();
  private readonly deadline: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private listener: InterceptingServerListener | undefined;
  private requestId = '';
  private span: Span | undefined;
  /** The span's trace id when valid (echoed in headers and trailers), settled once. */
  private traceId: string | undefined;
  private active: Context = ROOT_CONTEXT;
  private controller: AbortController | undefined;
  private untrack: (() => void) | undefined;
  private metadataSent = false;
  /** The status went out (or the client went away): nothing more is written. */
  private finished = false;

  constructor(
    private readonly method: MethodInfo,
    private readonly next: ServerInterceptingCallInterface,
    private readonly options: GatewayOptions,
  ) {
    this.deadline = deadlineMs(next.getDeadline());
    // grpc-js arms its own timer for the same instant, but it writes the status
    // below every interceptor: ours aborts the flow, stops further writes and logs.
    if (this.deadline !== Infinity) this.timer = setTimeout(() => this.expire(), Math.max(0, this.deadline - Date.now()));
  }

  start(listener: InterceptingServerListener): void {
    this.listener = listener;
    this.next.start({
      // grpc-js reads no message before the metadata is passed on (the handler calls startRead then),
      // so holding the metadata back holds the whole call.
      onReceiveMetadata: (metadata) => {
        if (this.method.exempt) this.onMetadata(metadata);
        else admitCall(this.options.pacer, () => this.onMetadata(metadata));
      },
      onReceiveMessage: (message) => {
        if (this.finished) return;
        // Unary and server-streaming handlers only store the request here; they run at half-close.
        if (this.span && this.method.requestStream) context.with(this.active, () => listener.onReceiveMessage(message));
        else listener.onReceiveMessage(message);
      },
      // The handler starts here: running it in the span's context makes the flow's work its children.
      onReceiveHalfClose: () => {
        if (this.finished) return;
        if (this.span) context.with(this.active, () => listener.onReceiveHalfClose());
        else listener.onReceiveHalfClose();
      },
      onCancel: () => {
        if (!this.finished) {
          // grpc-js's own deadline timer (armed for the same instant, often run just
          // before ours) ends the call below us and reports it as a cancellation.
          const timedOut = this.deadline !== Infinity && Date.now() >= this.deadline - DEADLINE_SLACK_MS;
          this.controller?.abort(timedOut ? abortReasons.deadline() : abortReasons.cancelled());
          this.finish(timedOut ? GrpcStatus.DEADLINE_EXCEEDED : GrpcStatus.CANCELLED, undefined);
        }
        listener.onCancel();
      },
    });
  }

  private onMetadata(metadata: Metadata): void {
    // Cancelled, or past its deadline, while the pacer held it.
    if (this.finished) return;
    const offered = metadata.get('x-request-id');
    this.requestId = requestIdFrom({ 'x-request-id': offered.length === 1 && typeof offered[0] === 'string' ? offered[0] : undefined });
    metadata.set('x-request-id', this.requestId);
    if (this.method.exempt) return this.listener!.onReceiveMetadata(metadata);

    const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
    const connection = this.next.getConnectionInfo();
    const attributes: Record<string, string | number> = {
      'rpc.system': 'grpc',
      'rpc.service': this.method.service,
      'rpc.method': this.method.method,
      'request.id': this.requestId,
    };
    if (connection.remoteAddress) attributes['network.peer.address'] = connection.remoteAddress;
    if (connection.remotePort) attributes['network.peer.port'] = connection.remotePort;
    this.span = tracer.startSpan(this.method.spanName, { kind: SpanKind.SERVER, attributes }, parent);
    this.traceId = validTraceId(this.span);
    this.active = trace.setSpan(parent, this.span);

    if (this.pastDeadline()) return this.expire();
    if (this.options.isDraining()) {
      return this.refuse(
        new GenkitError({ status: 'UNAVAILABLE', message: 'The server is shutting down; retry on another instance.', detail: { reason: 'SHUTTING_DOWN' } }),
      );
    }
    this.options.limiter.take(connection.remoteAddress ?? this.next.getPeer()).then(
      (decision) => this.afterLimiter(metadata, decision),
      () => this.refuse(new GenkitError({ status: 'INTERNAL', message: 'Internal Error' })),
    );
  }

  private afterLimiter(metadata: Metadata, decision: RateDecision): void {
    if (this.finished) return;
    if (!decision.allowed) {
      return this.refuse(
        new GenkitError({
          status: 'RESOURCE_EXHAUSTED',
          message: `Rate limit exceeded: retry in ${decision.resetSeconds} s.`,
          detail: { retryAfterSeconds: decision.resetSeconds, reason: 'RATE_LIMITED' },
        }),
      );
    }
    let flowContext: ActionContext | Promise<ActionContext>;
    try {
      flowContext = this.options.contextProvider({ method: 'POST', headers: metadataHeaders(metadata), input: undefined });
    } catch (e: unknown) {
      return this.refuse(e);
    }
    if (flowContext instanceof Promise) {
      flowContext.then(
        (resolved) => this.admit(metadata, resolved),
        (e: unknown) => this.refuse(e),
      );
    } else {
      this.admit(metadata, flowContext);
    }
  }

  private admit(metadata: Metadata, flowContext: ActionContext): void {
    if (this.finished) return;
    const controller = new AbortController();
    this.controller = controller;
    // At the end of the shutdown grace period: abort the flow and end the call with UNAVAILABLE (a status, not a reset).
    this.untrack = this.options.calls?.track(controller, (reason) => {
      controller.abort(reason);
      if (!this.finished) this.deliverStatus(grpcStatusOf(reason));
    });
    callStates.set(metadata, { context: flowContext, signal: controller.signal });
    this.listener!.onReceiveMetadata(metadata);
  }

  /** Ends a call the gate turned away: it never reaches the handler. */
  private refuse(error: unknown): void {
    if (this.finished) return;
    const refusal = error instanceof GenkitError ? error : new GenkitError({ status: 'INTERNAL', message: 'Internal Error' });
    this.sendStatus(grpcStatusOf(refusal));
  }

  /** The deadline passed: abort the flow and end the call with DEADLINE_EXCEEDED. */
  private expire(): void {
    if (this.finished) return;
    const reason = abortReasons.deadline();
    this.controller?.abort(reason);
    this.deliverStatus(grpcStatusOf(reason));
  }

  private pastDeadline(): boolean {
    return this.deadline !== Infinity && Date.now() >= this.deadline;
  }

  sendMetadata(metadata: Metadata): void {
    if (this.finished || this.metadataSent) return;
    this.metadataSent = true;
    metadata.set('x-request-id', this.requestId);
    if (this.traceId) metadata.set(TRACE_ID_HEADER, this.traceId);
    this.next.sendMetadata(metadata);
  }

  sendMessage(message: unknown, callback: () => void): void {
    if (this.finished) return callback();
    if (this.pastDeadline()) {
      this.expire();
      return callback();
    }
    if (!this.metadataSent) this.sendMetadata(new Metadata());
    this.next.sendMessage(message, callback);
  }

  sendStatus(status: PartialStatus): void {
    if (this.finished) return;
    // Past the deadline the client has given up: whatever the handler says, the call timed out.
    if (status.code !== GrpcStatus.DEADLINE_EXCEEDED && this.pastDeadline()) return this.expire();
    this.deliverStatus(status);
  }

  private deliverStatus(status: PartialStatus): void {
    const trailers = status.metadata ?? new Metadata();
    trailers.set('x-request-id', this.requestId);
    if (this.traceId) trailers.set(TRACE_ID_HEADER, this.traceId);
    const cache = trailers.get('x-cache');
    this.finish(status.code, cache.length === 1 ? String(cache[0]) : undefined);
    this.next.sendStatus({ code: status.code, details: status.details, metadata: trailers });
  }

  /** Marks the call over: clears the deadline timer, ends the span, writes the access line. */
  private finish(code: GrpcStatus, cache: string | undefined): void {
    this.finished = true;
    clearTimeout(this.timer);
    this.untrack?.();
    // The logger's mixin labels lines written inside the call's trace; the status can
    // also be sent from outside it (refusals, the deadline timer): then say it here.
    const traceFields = this.span && !inTrace(this.span) ? spanLogFields(this.span) : undefined;
    if (this.span) {
      this.span.setAttribute('rpc.grpc.status_code', code);
      if (SERVER_FAULTS.has(code)) this.span.setStatus({ code: SpanStatusCode.ERROR, message: GrpcStatus[code] });
      this.span.end();
    }
    const statusName = GrpcStatus[code] ?? String(code);
    const line = {
      ...traceFields,
      requestId: this.requestId || undefined,
      ...(cache ? { cache } : {}),
      rpc: this.method.path,
      status: statusName,
      durationMs: Math.round((performance.now() - this.started) * 10) / 10,
      peer: this.next.getPeer(),
    };
    const message = `${this.method.path} ${statusName}`;
    if (code === GrpcStatus.RESOURCE_EXHAUSTED && this.options.warnings) {
      this.options.onRefused?.(line.peer);
      this.options.warnings.note(`grpc-refused ${this.method.path}`, message, line);
    } else if (code === GrpcStatus.OK) this.options.logger.info(line, message);
    else if (ERROR_LEVEL.has(code)) this.options.logger.error(line, message);
    else this.options.logger.warn(line, message);
  }

  startRead(): void {
    this.next.startRead();
  }
  getPeer(): string {
    return this.next.getPeer();
  }
  getDeadline(): Deadline {
    return this.next.getDeadline();
  }
  getHost(): string {
    return this.next.getHost();
  }
  getAuthContext(): ReturnType<Call['getAuthContext']> {
    return this.next.getAuthContext();
  }
  getConnectionInfo(): ReturnType<Call['getConnectionInfo']> {
    return this.next.getConnectionInfo();
  }
  getMetricsRecorder(): ReturnType<Call['getMetricsRecorder']> {
    return this.next.getMetricsRecorder();
  }
}

/** Metadata as lower-case HTTP-style headers (binary `-bin` entries left out), for the shared context provider. */
export function metadataHeaders(metadata: Metadata): Record<string, string> {
  // getMap() is already a fresh object (first value per key): drop the binary values in place.
  const map = metadata.getMap();
  for (const key in map) if (typeof map[key] !== 'string') delete map[key];
  return map as Record<string, string>;
}

function deadlineMs(deadline: Deadline): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/** Without a tracer provider (telemetry never started) spans carry an all-zero id: no header then. */
function validTraceId(span: Span | undefined): string | undefined {
  const spanContext = span?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/** True when the active context is inside `span`'s trace (the logger's mixin then writes the trace ids). */
function inTrace(span: Span): boolean {
  return trace.getSpan(context.active())?.spanContext().traceId === span.spanContext().traceId;
}

/** The server span's ids under OpenTelemetry's log-correlation names (as the pino mixin writes them). */
function spanLogFields(span: Span | undefined): Record<string, string> {
  const spanContext = span?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: spanContext.traceFlags.toString(16).padStart(2, '0'),
  };
}
