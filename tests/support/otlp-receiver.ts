import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { Server as GrpcServer, ServerCredentials, type handleUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';

/**
 * A stand-in OpenTelemetry collector on 127.0.0.1: accepts trace exports over
 * OTLP/HTTP (protobuf and JSON, optionally gzipped) and OTLP/gRPC, and
 * decodes them into plain spans for assertions. Protobuf decoding uses the
 * protobufjs root shipped with @opentelemetry/otlp-transformer (the same
 * definitions the exporters encode with).
 */

export type OtlpTransport = 'http/protobuf' | 'http/json' | 'grpc';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, unknown>;
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  resource: Record<string, unknown>;
  scope: string;
  transport: OtlpTransport;
}

export interface ReceivedRequest {
  transport: OtlpTransport;
  path: string;
  headers: Record<string, string>;
  spanCount: number;
}

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT with the http protocols (the exporter appends /v1/traces). */
  httpEndpoint: string;
  /** For OTEL_EXPORTER_OTLP_ENDPOINT with protocol grpc. */
  grpcEndpoint: string;
  readonly spans: ReceivedSpan[];
  readonly requests: ReceivedRequest[];
  /** All spans of `traceId` once `predicate` holds for them; rejects after `timeoutMs` listing what arrived. */
  waitForTrace(traceId: string, predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface ProtoType {
  decode(bytes: Uint8Array): unknown;
  encode(message: object): { finish(): Uint8Array };
  toObject(message: unknown, options: object): unknown;
}
const root = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: ProtoType; ExportTraceServiceResponse: ProtoType } } } } };
};
const { ExportTraceServiceRequest, ExportTraceServiceResponse } = root.opentelemetry.proto.collector.trace.v1;
const EMPTY_RESPONSE = Buffer.from(ExportTraceServiceResponse.encode({}).finish());
const GRPC_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

type Json = Record<string, unknown>;

/** protobuf → the OTLP/JSON shape, so both paths share one flattener (ids stay base64 here, hex in JSON). */
function decodeProtobuf(bytes: Uint8Array): Json {
  return ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(bytes), { longs: String, enums: Number, bytes: String, defaults: false }) as Json;
}

/** OTLP/JSON ids are hex by the spec; protobuf bytes come out of protobufjs as base64. Accept either. */
function toHex(value: unknown, length: number): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (new RegExp(`^[0-9a-fA-F]{${length}}$`).test(value)) return value.toLowerCase();
  const hex = Buffer.from(value, 'base64').toString('hex');
  return hex === '' || /^0+$/.test(hex) ? undefined : hex;
}

function enumNumber(value: unknown, names: string[]): number {
  if (typeof value === 'number') return value;
  const index = names.indexOf(String(value));
  return index >= 0 ? index : 0;
}

function anyValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const v = value as Json;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return (((v.arrayValue as Json | undefined)?.values as unknown[]) ?? []).map(anyValue);
  if ('kvlistValue' in v) return attributes((v.kvlistValue as Json | undefined)?.values);
  if ('bytesValue' in v) return v.bytesValue;
  return undefined;
}

function attributes(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of Array.isArray(list) ? (list as Json[]) : []) out[String(kv.key)] = anyValue(kv.value);
  return out;
}

function flatten(request: Json, transport: OtlpTransport): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of (request.resourceSpans as Json[] | undefined) ?? []) {
    const resource = attributes((resourceSpans.resource as Json | undefined)?.attributes);
    for (const scopeSpans of (resourceSpans.scopeSpans as Json[] | undefined) ?? []) {
      const scope = String((scopeSpans.scope as Json | undefined)?.name ?? '');
      for (const span of (scopeSpans.spans as Json[] | undefined) ?? []) {
        const status = (span.status as Json | undefined) ?? {};
        const parentSpanId = toHex(span.parentSpanId, 16);
        spans.push({
          traceId: toHex(span.traceId, 32) ?? '',
          spanId: toHex(span.spanId, 16) ?? '',
          ...(parentSpanId ? { parentSpanId } : {}),
          name: String(span.name ?? ''),
          kind: enumNumber(span.kind, SPAN_KINDS),
          attributes: attributes(span.attributes),
          status: { code: enumNumber(status.code, STATUS_CODES), ...(status.message ? { message: String(status.message) } : {}) },
          resource,
          scope,
          transport,
        });
      }
    }
  }
  return spans;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

function headersOf(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();
  const accept = (request: Json, transport: OtlpTransport, path: string, headers: Record<string, string>) => {
    const received = flatten(request, transport);
    spans.push(...received);
    requests.push({ transport, path, headers, spanCount: received.length });
    for (const wake of waiters) wake();
  };

  const http: Server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const json = String(req.headers['content-type'] ?? '').startsWith('application/json');
      try {
        const body = await readBody(req);
        const request = json ? (JSON.parse(body.toString('utf8')) as Json) : decodeProtobuf(body);
        accept(request, json ? 'http/json' : 'http/protobuf', req.url, headersOf(req));
      } catch {
        res.writeHead(400).end();
        return;
      }
      if (json) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(EMPTY_RESPONSE);
    })();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

  const grpc = new GrpcServer();
  const exportCall: handleUnaryCall<Json, Buffer> = (call, callback) => {
    accept(call.request, 'grpc', GRPC_PATH, Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])));
    callback(null, EMPTY_RESPONSE);
  };
  const definition: ServiceDefinition = {
    Export: {
      path: GRPC_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: Buffer) => value,
      requestDeserialize: (bytes: Buffer) => decodeProtobuf(bytes),
      responseSerialize: (value: Buffer) => value,
      responseDeserialize: (bytes: Buffer) => bytes,
    },
  };
  grpc.addService(definition, { Export: exportCall });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );

  return {
    httpEndpoint: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    grpcEndpoint: `http://127.0.0.1:${grpcPort}`,
    spans,
    requests,
    waitForTrace: (traceId, predicate, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const ofTrace = () => spans.filter((s) => s.traceId === traceId);
        const check = () => {
          if (!predicate(ofTrace())) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(ofTrace());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const got = ofTrace().map((s) => s.name);
          reject(new Error(`trace ${traceId} incomplete after ${timeoutMs} ms: got [${got.join(', ')}]; ${spans.length} spans in all`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      grpc.forceShutdown();
    },
  };
}
