import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import {
  Server as GrpcServer,
  ServerCredentials,
  status as GrpcStatus,
  type handleUnaryCall,
  type MethodDefinition,
  type ServiceDefinition,
} from '@grpc/grpc-js';

/**
 * A stand-in OpenTelemetry collector on 127.0.0.1 for tests: accepts trace
 * exports over OTLP/HTTP (protobuf or JSON, optionally gzipped) and OTLP/gRPC,
 * and flattens them into plain spans so assertions don't depend on the wire
 * encoding. Protobuf decoding uses the protobufjs root shipped with
 * @opentelemetry/otlp-transformer — the same definitions the exporters encode
 * with, so no .proto files or new dependencies are needed.
 */

export type OtlpTransport = 'http/protobuf' | 'http/json' | 'grpc';

/** A flattened OTLP AnyValue. */
export type AttributeValue = string | number | boolean | unknown[] | Record<string, unknown>;

export interface ReceivedSpan {
  /** 32 lowercase hex chars. */
  traceId: string;
  /** 16 lowercase hex chars. */
  spanId: string;
  /** 16 lowercase hex chars; undefined for a root span. */
  parentSpanId?: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer (the SDK's enum + 1). */
  kind: number;
  /** intValue → number, bytesValue → base64 string, arrays/kvlists flattened recursively. */
  attributes: Record<string, AttributeValue>;
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  /** Flattened resource attributes, e.g. 'service.name'. */
  resource: Record<string, unknown>;
  /** Instrumentation scope name. */
  scope: string;
  transport: OtlpTransport;
}

export interface ReceivedRequest {
  transport: OtlpTransport;
  path: string;
  headers: Record<string, string>;
  spanCount: number;
}

/** An export the receiver refused (HTTP 4xx or gRPC error): kept so a timed-out wait can say why. */
export interface RejectedRequest {
  transport: OtlpTransport | 'http';
  path: string;
  status: number;
  error: string;
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT with the http protocols, e.g. http://127.0.0.1:PORT (the exporter appends /v1/traces). */
  httpEndpoint: string;
  /** URL for OTEL_EXPORTER_OTLP_ENDPOINT with protocol grpc, e.g. http://127.0.0.1:PORT */
  grpcEndpoint: string;
  readonly spans: ReceivedSpan[];
  readonly requests: ReceivedRequest[];
  readonly rejected: RejectedRequest[];
  /** Resolves with all spans of `traceId` once `predicate(spansOfThatTrace)` is true; rejects after timeoutMs (default 10000) with a message listing what did arrive. */
  waitForTrace(traceId: string, predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Resolves with all spans once predicate(allSpans) is true; rejects after timeoutMs (default 10000). */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Stops both servers, dropping open connections; pending waits reject. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- decoding

/** The slice of a protobufjs static message class this file uses. */
interface StaticMessage {
  decode(bytes: Uint8Array): object;
  encode(message: object): { finish(): Uint8Array };
  toObject(message: object, options: { longs?: StringConstructor; enums?: NumberConstructor; defaults?: boolean }): Record<string, unknown>;
}
interface TraceServiceMessages {
  ExportTraceServiceRequest: StaticMessage;
  ExportTraceServiceResponse: StaticMessage;
}
// CommonJS, and not reachable through the package's main entry, hence createRequire + deep path.
const generated = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { trace: { v1: TraceServiceMessages } } } };
};
const { ExportTraceServiceRequest, ExportTraceServiceResponse } = generated.opentelemetry.proto.collector.trace.v1;
/** An empty ExportTraceServiceResponse (zero bytes on the wire, but encoded for honesty). */
const EMPTY_PROTO_RESPONSE = Buffer.from(ExportTraceServiceResponse.encode({}).finish());

const GRPC_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

type Obj = Record<string, unknown>;

/** Thrown for payloads that decode but make no sense as OTLP; becomes a 400 / INVALID_ARGUMENT. */
class MalformedExport extends Error {}

/**
 * Protobuf → plain object in (almost) the OTLP/JSON shape, so both wire formats
 * share one flattener. Longs become strings (Long or number otherwise), bytes
 * stay Uint8Array (toHex handles them), enums stay numbers.
 */
function decodeProtobuf(bytes: Uint8Array): Obj {
  return ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(bytes), { longs: String, enums: Number, defaults: false });
}

const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);
const objAt = (value: unknown, what: string): Obj => {
  if (value === undefined || value === null) return {};
  if (!isObj(value)) throw new MalformedExport(`${what} is not an object`);
  return value;
};
const listAt = (value: unknown, what: string): unknown[] => {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new MalformedExport(`${what} is not an array`);
  return value;
};

/**
 * Ids: Uint8Array from protobuf; in JSON the spec says hex, but proto3's
 * canonical JSON mapping (used by some SDKs/collectors) says base64. A hex id
 * is 32/16 chars while base64 of 16/8 bytes is 24/12, so length disambiguates.
 */
function toHex(value: unknown, bytes: number, what: string): string | undefined {
  let raw: Buffer;
  if (value === undefined || value === null) return undefined;
  if (value instanceof Uint8Array) raw = Buffer.from(value);
  else if (typeof value === 'string') {
    if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value)) return value.toLowerCase();
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) throw new MalformedExport(`${what} ${JSON.stringify(value)} is neither hex nor base64`);
    raw = Buffer.from(value, 'base64');
  } else throw new MalformedExport(`${what} has type ${typeof value}`);
  if (raw.length === 0) return undefined;
  if (raw.length !== bytes) throw new MalformedExport(`${what} is ${raw.length} bytes, expected ${bytes}`);
  return raw.toString('hex');
}

/** int64 arrives as number, decimal string (JSON, or protobuf via longs: String), bigint or a Long-like {low, high}. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  if (isObj(value) && typeof value.low === 'number' && typeof value.high === 'number') {
    const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
    return Number(value.unsigned === true ? bits : BigInt.asIntN(64, bits));
  }
  throw new MalformedExport(`not an integer: ${JSON.stringify(value)}`);
}

/** Enums in OTLP/JSON must be numbers, but enum-name strings are common enough to accept. */
function toEnum(value: unknown, names: string[], what: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return Number(value);
    const index = names.indexOf(value);
    if (index >= 0) return index;
  }
  throw new MalformedExport(`unknown ${what} ${JSON.stringify(value)}`);
}

/** AnyValue → plain value; undefined for an empty AnyValue (attribute then omitted). */
function anyValue(value: unknown): AttributeValue | undefined {
  // Not OTLP, but a bare primitive is unambiguous, so don't reject it.
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  const v = objAt(value, 'AnyValue');
  if (v.stringValue != null) return String(v.stringValue);
  if (v.boolValue != null) return v.boolValue === true || v.boolValue === 'true';
  if (v.intValue != null) return toNumber(v.intValue);
  if (v.doubleValue != null) return Number(v.doubleValue); // JSON may carry "NaN"/"Infinity" strings
  if (v.arrayValue != null) return listAt(objAt(v.arrayValue, 'arrayValue').values, 'arrayValue.values').map(anyValue);
  if (v.kvlistValue != null) return keyValues(objAt(v.kvlistValue, 'kvlistValue').values);
  if (v.bytesValue != null) return v.bytesValue instanceof Uint8Array ? Buffer.from(v.bytesValue).toString('base64') : String(v.bytesValue);
  return undefined;
}

function keyValues(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const item of listAt(list, 'attributes')) {
    const kv = objAt(item, 'KeyValue');
    const value = anyValue(kv.value);
    if (value !== undefined) out[String(kv.key)] = value;
  }
  return out;
}

/** ExportTraceServiceRequest (JSON shape) → one ReceivedSpan per span, resource and scope copied onto each. */
function flatten(request: unknown, transport: OtlpTransport): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of listAt(objAt(request, 'request').resourceSpans, 'resourceSpans')) {
    const resourceSpans = objAt(rs, 'ResourceSpans');
    const resource = keyValues(objAt(resourceSpans.resource, 'resource').attributes);
    for (const ss of listAt(resourceSpans.scopeSpans, 'scopeSpans')) {
      const scopeSpans = objAt(ss, 'ScopeSpans');
      const scope = String(objAt(scopeSpans.scope, 'scope').name ?? '');
      for (const item of listAt(scopeSpans.spans, 'spans')) {
        const span = objAt(item, 'Span');
        const traceId = toHex(span.traceId, 16, 'traceId');
        const spanId = toHex(span.spanId, 8, 'spanId');
        if (!traceId || !spanId) throw new MalformedExport(`span ${JSON.stringify(span.name)} lacks traceId or spanId`);
        const parentSpanId = toHex(span.parentSpanId, 8, 'parentSpanId');
        const status = objAt(span.status, 'status');
        spans.push({
          traceId,
          spanId,
          // All-zero is the W3C "invalid" id, i.e. no parent, same as empty.
          ...(parentSpanId && !/^0+$/.test(parentSpanId) ? { parentSpanId } : {}),
          name: String(span.name ?? ''),
          kind: toEnum(span.kind, SPAN_KINDS, 'span kind'),
          attributes: keyValues(span.attributes),
          status: { code: toEnum(status.code, STATUS_CODES, 'status code'), ...(status.message ? { message: String(status.message) } : {}) },
          resource,
          scope,
          transport,
        });
      }
    }
  }
  return spans;
}

// ---------------------------------------------------------------- servers

const gunzipAsync = promisify(gunzip);
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function headersOf(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]));
}

interface Waiter {
  check(): void;
  abort(error: Error): void;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: ReceivedRequest[] = [];
  const rejected: RejectedRequest[] = [];
  const waiters = new Set<Waiter>();
  let closed = false;

  const accept = (received: ReceivedSpan[], transport: OtlpTransport, path: string, headers: Record<string, string>) => {
    spans.push(...received);
    requests.push({ transport, path, headers, spanCount: received.length });
    for (const waiter of [...waiters]) waiter.check();
  };

  // ---- OTLP/HTTP: POST /v1/traces, protobuf or JSON, identity or gzip.
  const handleHttp = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://receiver').pathname;
    const refuse = (status: number, error: string, transport: RejectedRequest['transport'] = 'http') => {
      if (!closed) rejected.push({ transport, path, status, error }); // close() aborting a half-read body is not the client's fault
      res.writeHead(status, { 'content-type': 'text/plain' }).end(error);
    };
    if (path !== '/v1/traces') return refuse(404, `no route for ${path}`);
    if (req.method !== 'POST') return refuse(405, `${req.method ?? ''} not allowed`);

    const mediaType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const transport: OtlpTransport | undefined =
      mediaType === 'application/json' ? 'http/json' : mediaType === 'application/x-protobuf' || mediaType === 'application/protobuf' ? 'http/protobuf' : undefined;
    if (!transport) return refuse(415, `unsupported content-type ${JSON.stringify(mediaType)}`);
    const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (!['identity', 'gzip', 'x-gzip'].includes(encoding)) return refuse(415, `unsupported content-encoding ${encoding}`, transport);

    let received: ReceivedSpan[];
    try {
      const raw = await readBody(req);
      const body = encoding === 'identity' ? raw : await gunzipAsync(raw);
      const decoded: unknown = transport === 'http/json' ? JSON.parse(body.toString('utf8')) : decodeProtobuf(body);
      received = flatten(decoded, transport);
    } catch (error) {
      return refuse(400, `malformed ${transport} export: ${errorText(error)}`, transport);
    }
    accept(received, transport, path, headersOf(req));
    if (transport === 'http/json') res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(EMPTY_PROTO_RESPONSE);
  };

  const http = createServer((req, res) => {
    handleHttp(req, res).catch((error: unknown) => {
      // Only reachable on socket trouble mid-response; never let it escape as an unhandled rejection.
      rejected.push({ transport: 'http', path: req.url ?? '', status: 500, error: errorText(error) });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });

  // ---- OTLP/gRPC: a hand-written service definition instead of loading .proto files.
  // Deserialize never throws (grpc-js would answer INTERNAL); the handler turns failures into INVALID_ARGUMENT.
  type Decoded = { spans: ReceivedSpan[] } | { error: string };
  const exportMethod: MethodDefinition<Decoded, Buffer> = {
    path: GRPC_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: () => Buffer.alloc(0), // client side; unused by a server
    requestDeserialize: (bytes: Buffer): Decoded => {
      try {
        return { spans: flatten(decodeProtobuf(bytes), 'grpc') };
      } catch (error) {
        return { error: `malformed grpc export: ${errorText(error)}` };
      }
    },
    responseSerialize: () => EMPTY_PROTO_RESPONSE,
    responseDeserialize: (bytes: Buffer) => bytes,
  };
  const exportCall: handleUnaryCall<Decoded, Buffer> = (call, callback) => {
    if ('error' in call.request) {
      rejected.push({ transport: 'grpc', path: GRPC_PATH, status: GrpcStatus.INVALID_ARGUMENT, error: call.request.error });
      callback({ code: GrpcStatus.INVALID_ARGUMENT, details: call.request.error });
      return;
    }
    // Binary (-bin) metadata arrives as Buffer; base64 keeps headers string-typed.
    const headers = Object.fromEntries(
      Object.entries(call.metadata.getMap()).map(([k, v]) => [k, typeof v === 'string' ? v : v.toString('base64')]),
    );
    accept(call.request.spans, 'grpc', GRPC_PATH, headers);
    callback(null, EMPTY_PROTO_RESPONSE);
  };
  const service: ServiceDefinition = { Export: exportMethod };
  const grpc = new GrpcServer();
  grpc.addService(service, { Export: exportCall });
  let grpcPort: number;
  try {
    grpcPort = await new Promise<number>((resolve, reject) =>
      grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
  } catch (error) {
    http.close();
    throw error;
  }

  // ---- waiting
  const describe = (selected: ReceivedSpan[]) => {
    const names = selected.map((s) => `${s.name}(kind ${s.kind}, ${s.transport})`).join(', ');
    const refusals = rejected.length ? `; rejected: ${rejected.map((r) => `${r.status} ${r.error}`).join(' | ')}` : '';
    return `got [${names}]; ${spans.length} spans in ${requests.length} requests in all${refusals}`;
  };
  const waitUntil = (select: () => ReceivedSpan[], predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs: number, what: string) =>
    new Promise<ReceivedSpan[]>((resolve, reject) => {
      if (closed) return reject(new Error(`OTLP receiver is closed (waiting for ${what})`));
      const finish = (outcome: () => void) => {
        clearTimeout(timer);
        waiters.delete(waiter);
        outcome();
      };
      const waiter: Waiter = {
        check: () => {
          const selected = select();
          try {
            if (predicate(selected)) finish(() => resolve(selected));
          } catch (error) {
            finish(() => reject(error));
          }
        },
        abort: (error) => finish(() => reject(error)),
      };
      const timer = setTimeout(() => waiter.abort(new Error(`${what} not satisfied after ${timeoutMs} ms: ${describe(select())}`)), timeoutMs);
      waiters.add(waiter);
      waiter.check();
    });

  return {
    httpEndpoint: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    grpcEndpoint: `http://127.0.0.1:${grpcPort}`,
    spans,
    requests,
    rejected,
    waitForTrace: (traceId, predicate, timeoutMs = 10_000) =>
      waitUntil(() => spans.filter((s) => s.traceId === traceId), predicate, timeoutMs, `trace ${traceId}`),
    waitFor: (predicate, timeoutMs = 10_000) => waitUntil(() => [...spans], predicate, timeoutMs, 'span predicate'),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const waiter of [...waiters]) waiter.abort(new Error('OTLP receiver closed while waiting'));
      // Exporters keep connections alive; without dropping them http.close() would wait for their idle timeout.
      http.closeAllConnections();
      grpc.forceShutdown();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
