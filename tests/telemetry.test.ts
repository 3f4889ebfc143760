import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { callStream, collect, flowClient, requestFor } from './support/grpc-client.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * OpenTelemetry end to end: the real process (`main.ts`) exports to a local
 * OTLP receiver over each protocol. One REST `translateText` call and one
 * gRPC `TranslateText` call must each be one trace:
 *
 *   server span (client's traceparent as parent)
 *     └ translateText (flow)
 *         ├ sanitize-input
 *         └ generate → resilient/offline/deterministic → offline/deterministic
 *
 * with the trace ID in the response (header / trailer) and on the log line.
 */

const SERVICE = 'genkit.flows.v1.FlowService';
/** Short batches so spans arrive quickly; the shutdown test below sets a long one on purpose. */
const FAST_EXPORT = { OTEL_BSP_SCHEDULE_DELAY: '100' };

function newTraceparent(): { traceparent: string; traceId: string; parentSpanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentSpanId = randomBytes(8).toString('hex');
  return { traceparent: `00-${traceId}-${parentSpanId}-01`, traceId, parentSpanId };
}

async function restTranslate(port: number, headers: Record<string, string> = {}, data: object = { text: 'hello', targetLanguage: 'French' }) {
  const res = await fetch(`http://127.0.0.1:${port}/translateText`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ data }),
  });
  await res.arrayBuffer();
  return res;
}

/** A unary TranslateText call through the generated client; resolves with the status and trailers (errors included). */
function grpcTranslate(port: number, metadata: Record<string, string>, request: object = { text: 'hello', targetLanguage: 'German' }) {
  const client = flowClient(port);
  const md = new Metadata();
  for (const [key, value] of Object.entries(metadata)) md.set(key, value);
  return new Promise<{ code: number; trailers: Metadata; headers: Metadata }>((resolve) => {
    let headers = new Metadata();
    const call = client.translateText(requestFor('translateText', request) as never, md, (error: ServiceError | null) => {
      if (error) resolve({ code: error.code, trailers: error.metadata, headers });
    });
    call.on('metadata', (m: Metadata) => (headers = m));
    call.on('status', (status: { code: number; metadata: Metadata }) => {
      if (status.code === 0) resolve({ code: 0, trailers: status.metadata, headers });
      client.close();
    });
  });
}

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
function one(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = byName(spans, name);
  assert.equal(found.length, 1, `exactly one "${name}" span (got ${spans.map((s) => s.name).join(', ')})`);
  return found[0]!;
}

/** The tree under the server span, common to both surfaces. */
function assertFlowTree(spans: ReceivedSpan[], server: ReceivedSpan): void {
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, 'one trace');
  const flow = one(spans, 'translateText');
  assert.equal(flow.parentSpanId, server.spanId, 'the flow span is a child of the server span');
  assert.equal(flow.attributes['genkit:type'], 'action');
  assert.equal(flow.attributes['genkit:metadata:subtype'], 'flow');
  const sanitize = one(spans, 'sanitize-input');
  assert.equal(sanitize.parentSpanId, flow.spanId, 'sanitize-input is a step of the flow');
  assert.equal(sanitize.attributes['genkit:type'], 'flowStep');
  const generates = byName(spans, 'generate').filter((s) => s.parentSpanId === flow.spanId);
  assert.equal(generates.length, 1, 'one generate directly under the flow');
  const models = spans.filter((s) => s.attributes['genkit:metadata:subtype'] === 'model');
  assert.ok(models.length >= 2, 'model spans (the resilient wrapper and the model it calls)');
  const resilient = models.find((s) => s.name === 'resilient/offline/deterministic');
  assert.ok(resilient, 'resilient model span');
  const ancestors = (span: ReceivedSpan): string[] => {
    const parent = spans.find((s) => s.spanId === span.parentSpanId);
    return parent ? [parent.spanId, ...ancestors(parent)] : [];
  };
  for (const model of models) assert.ok(ancestors(model).includes(generates[0]!.spanId), `${model.name} is under generate`);
  const inner = models.find((s) => s.name === 'offline/deterministic' && s.parentSpanId === resilient.spanId);
  assert.ok(inner, 'the real model call is a child of the resilient wrapper');
}

function logLineWith(proc: ServerProcess, predicate: (line: Record<string, unknown>) => boolean): Record<string, unknown> {
  const line = proc.logs.find(predicate);
  assert.ok(line, 'log line present');
  return line;
}

async function waitForLog(proc: ServerProcess, predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.logs.some(predicate)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail('log line did not appear');
}

for (const protocol of ['http/protobuf', 'http/json', 'grpc'] as const) {
  describe(`OTLP ${protocol}`, () => {
    let receiver: OtlpReceiver;
    let proc: ServerProcess;
    before(async () => {
      receiver = await startOtlpReceiver();
      proc = await startServerProcess({
        ...FAST_EXPORT,
        OTEL_EXPORTER_OTLP_ENDPOINT: protocol === 'grpc' ? receiver.grpcEndpoint : receiver.httpEndpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_SERVICE_NAME: 'telemetry-test',
      });
    });
    after(async () => {
      await proc?.stop();
      await receiver?.close();
    });

    it('logs the exporter choice at start-up', () => {
      const line = logLineWith(proc, (l) => String(l.msg).startsWith('Trace export:'));
      assert.equal(line.exporter, 'otlp');
      assert.match(String(line.msg), new RegExp(`OTLP ${protocol.replace('/', '\\/')} to http://127\\.0\\.0\\.1:\\d+`));
    });

    it('REST: one trace, server span → flow → steps → model, continuing the client traceparent', async () => {
      const client = newTraceparent();
      const res = await restTranslate(proc.restPort, { traceparent: client.traceparent });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-trace-id'), client.traceId, 'X-Trace-ID names the continued trace');
      assert.equal(res.headers.get('x-genkit-trace-id'), client.traceId, "Genkit's own header agrees");

      const spans = await receiver.waitForTrace(client.traceId, (s) => s.some((x) => x.kind === 2) && s.some((x) => x.name === 'translateText'));
      const server = one(spans, 'POST /translateText');
      assert.equal(server.kind, 2, 'SERVER');
      assert.equal(server.parentSpanId, client.parentSpanId, "the client's span is the parent");
      assert.equal(server.attributes['http.route'], '/translateText');
      assert.equal(server.attributes['http.request.method'], 'POST');
      assert.equal(server.attributes['http.response.status_code'], 200);
      assert.equal(server.attributes['request.id'], res.headers.get('x-request-id'));
      assert.equal(server.resource['service.name'], 'telemetry-test');
      assert.equal(server.transport, protocol);
      assertFlowTree(spans, server);

      await waitForLog(proc, (l) => l.requestId === res.headers.get('x-request-id') && typeof l.res === 'object');
      const access = logLineWith(proc, (l) => l.requestId === res.headers.get('x-request-id') && typeof l.res === 'object');
      assert.equal(access.trace_id, client.traceId, 'the access log line carries the trace ID');
      assert.equal(access.span_id, server.spanId);
    });

    it('gRPC: one trace, server span → flow → steps → model, continuing the client traceparent', async () => {
      const client = newTraceparent();
      const result = await grpcTranslate(proc.grpcPort, { traceparent: client.traceparent, 'x-request-id': `otel-${protocol.replace('/', '-')}` });
      assert.equal(result.code, 0);
      assert.equal(result.trailers.get('x-trace-id')[0], client.traceId, 'trailing metadata names the trace');
      assert.equal(result.headers.get('x-trace-id')[0], client.traceId, 'so do the response headers');

      const spans = await receiver.waitForTrace(client.traceId, (s) => s.some((x) => x.kind === 2) && s.some((x) => x.name === 'translateText'));
      const server = one(spans, `${SERVICE}/TranslateText`);
      assert.equal(server.kind, 2, 'SERVER');
      assert.equal(server.parentSpanId, client.parentSpanId, "the client's span is the parent");
      assert.deepEqual(
        {
          system: server.attributes['rpc.system'],
          service: server.attributes['rpc.service'],
          method: server.attributes['rpc.method'],
          code: server.attributes['rpc.grpc.status_code'],
          requestId: server.attributes['request.id'],
        },
        { system: 'grpc', service: SERVICE, method: 'TranslateText', code: 0, requestId: `otel-${protocol.replace('/', '-')}` },
      );
      assertFlowTree(spans, server);

      await waitForLog(proc, (l) => l.requestId === `otel-${protocol.replace('/', '-')}` && typeof l.rpc === 'string');
      const access = logLineWith(proc, (l) => l.requestId === `otel-${protocol.replace('/', '-')}` && typeof l.rpc === 'string');
      assert.equal(access.trace_id, client.traceId, 'the RPC access line carries the trace ID');
    });

    if (protocol !== 'http/protobuf') return;

    it('without a traceparent the server span starts the trace, and the response names it', async () => {
      const res = await restTranslate(proc.restPort, {}, { text: 'a fresh trace', targetLanguage: 'Spanish' });
      const traceId = res.headers.get('x-trace-id');
      assert.match(String(traceId), /^[0-9a-f]{32}$/);
      const spans = await receiver.waitForTrace(String(traceId), (s) => s.some((x) => x.kind === 2) && s.some((x) => x.name === 'translateText'));
      const server = one(spans, 'POST /translateText');
      assert.equal(server.parentSpanId, undefined, 'root span');
      assertFlowTree(spans, server);
    });

    it('refused and failed calls are traced with their status', async () => {
      const rest = newTraceparent();
      const bad = await restTranslate(proc.restPort, { traceparent: rest.traceparent }, { text: '' });
      assert.equal(bad.status, 400);
      assert.equal(bad.headers.get('x-trace-id'), rest.traceId, 'errors name their trace too');
      const [restSpan] = await receiver.waitForTrace(rest.traceId, (s) => s.some((x) => x.kind === 2));
      assert.equal(restSpan!.attributes['http.response.status_code'], 400);
      assert.ok(!restSpan!.attributes['http.route'] || restSpan!.attributes['http.route'] === '/translateText');

      const grpc = newTraceparent();
      const result = await grpcTranslate(proc.grpcPort, { traceparent: grpc.traceparent }, { text: '', targetLanguage: 'French' });
      assert.equal(result.code, 3, 'INVALID_ARGUMENT');
      assert.equal(result.trailers.get('x-trace-id')[0], grpc.traceId);
      const spans = await receiver.waitForTrace(grpc.traceId, (s) => s.some((x) => x.kind === 2));
      const server = one(spans, `${SERVICE}/TranslateText`);
      assert.equal(server.attributes['rpc.grpc.status_code'], 3);
      assert.equal(server.status.code, 0, "a caller's mistake is not a server error");
    });

    it('streams: REST SSE and a gRPC server stream are one trace each, the flow under the server span', async () => {
      const rest = newTraceparent();
      const res = await fetch(`http://127.0.0.1:${proc.restPort}/tellStory?stream=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: rest.traceparent },
        body: JSON.stringify({ data: { topic: 'a traced cat' } }),
      });
      assert.match(await res.text(), /"result"/);
      assert.equal(res.headers.get('x-trace-id'), rest.traceId);
      const restSpans = await receiver.waitForTrace(rest.traceId, (s) => s.some((x) => x.kind === 2) && s.some((x) => x.name === 'tellStory'));
      assert.equal(one(restSpans, 'tellStory').parentSpanId, one(restSpans, 'POST /tellStory').spanId);

      const grpc = newTraceparent();
      const grpcClient = flowClient(proc.grpcPort);
      const call = callStream(grpcClient, 'tellStoryStream', { topic: 'a traced cat' }, { metadata: { traceparent: grpc.traceparent } });
      const trailers = new Promise<Metadata>((resolve) => call.on('status', (status: { metadata: Metadata }) => resolve(status.metadata)));
      const messages = await collect(call).finally(() => grpcClient.close());
      assert.ok(messages.length > 1, 'chunks and the result');
      assert.equal((await trailers).get('x-trace-id')[0], grpc.traceId);
      const rpcSpans = await receiver.waitForTrace(grpc.traceId, (s) => s.some((x) => x.kind === 2) && s.some((x) => x.name === 'tellStory'));
      const server = one(rpcSpans, `${SERVICE}/TellStoryStream`);
      assert.equal(server.attributes['rpc.grpc.status_code'], 0);
      assert.equal(one(rpcSpans, 'tellStory').parentSpanId, server.spanId);
    });

    it('health checks are not traced', async () => {
      const before = receiver.spans.length;
      const health = await fetch(`http://127.0.0.1:${proc.restPort}/health`);
      assert.equal(health.status, 200);
      assert.equal(health.headers.get('x-trace-id'), null);
      // A traced call after it: once its spans are in, anything from /health would be too.
      const marker = newTraceparent();
      await restTranslate(proc.restPort, { traceparent: marker.traceparent });
      await receiver.waitForTrace(marker.traceId, (s) => s.some((x) => x.kind === 2));
      assert.ok(!receiver.spans.slice(before).some((s) => String(s.attributes['url.path'] ?? '').startsWith('/health')));
    });
  });
}

describe('telemetry disabled', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver?.close();
  });

  for (const [how, env, args] of [
    ['GENKIT_TELEMETRY_DISABLED=1', { GENKIT_TELEMETRY_DISABLED: '1' }, []],
    ['--no-telemetry', {}, ['--no-telemetry']],
  ] as const) {
    it(`${how}: nothing reaches the receiver, trace IDs still label responses and logs`, async () => {
      const proc = await startServerProcess({ ...FAST_EXPORT, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpEndpoint, ...env }, [...args]);
      try {
        const line = logLineWith(proc, (l) => String(l.msg).startsWith('Trace export:'));
        assert.equal(line.exporter, 'none');
        const client = newTraceparent();
        const res = await restTranslate(proc.restPort, { traceparent: client.traceparent });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-trace-id'), client.traceId);
        const rpc = await grpcTranslate(proc.grpcPort, {});
        assert.equal(rpc.code, 0);
        await waitForLog(proc, (l) => l.requestId === res.headers.get('x-request-id') && typeof l.res === 'object');
        assert.equal(logLineWith(proc, (l) => l.requestId === res.headers.get('x-request-id') && typeof l.res === 'object').trace_id, client.traceId);
      } finally {
        assert.equal(await proc.stop(), 0);
      }
      // The batch delay is 100 ms and shutdown flushes: had anything been exported, it would be here.
      assert.deepEqual(receiver.requests, []);
      assert.deepEqual(receiver.rejected, []);
    });
  }
});

describe('exporter trouble never breaks requests', () => {
  it('a collector that is down: calls succeed, one warning until it recovers', async () => {
    // A port that was just free: nothing listens there.
    const gone = await startOtlpReceiver();
    const endpoint = gone.httpEndpoint;
    await gone.close();
    const proc = await startServerProcess({ ...FAST_EXPORT, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_TIMEOUT: '1000' });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await restTranslate(proc.restPort, {}, { text: `call ${i}`, targetLanguage: 'French' });
        assert.equal(res.status, 200);
        // Let each call's batch go out (and fail) separately.
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
      await waitForLog(proc, (l) => String(l.msg).startsWith('Trace export to'));
      const warnings = proc.logs.filter((l) => String(l.msg).startsWith('Trace export to'));
      assert.equal(warnings.length, 1, 'one warning, not one per batch');
      assert.equal(warnings[0]!.level, 40);
      assert.match(String(warnings[0]!.msg), /is failing/);
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  });
});

describe('graceful shutdown flushes buffered spans', () => {
  it('spans still in the batch when SIGTERM arrives are exported before exit', async () => {
    const receiver = await startOtlpReceiver();
    // A batch delay far longer than the test: only the shutdown flush can send these spans.
    const proc = await startServerProcess({ OTEL_BSP_SCHEDULE_DELAY: '600000', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpEndpoint });
    try {
      const client = newTraceparent();
      assert.equal((await restTranslate(proc.restPort, { traceparent: client.traceparent })).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(receiver.spans.length, 0, 'nothing exported yet');
      assert.equal(await proc.stop(), 0);
      const spans = await receiver.waitForTrace(client.traceId, (s) => s.some((x) => x.kind === 2) && s.some((x) => x.name === 'translateText'), 2000);
      assertFlowTree(spans, one(spans, 'POST /translateText'));
    } finally {
      await proc.stop();
      await receiver.close();
    }
  });
});

describe('AWS: OTLP to the collector with X-Ray trace ids and propagation', () => {
  let receiver: OtlpReceiver;
  let proc: ServerProcess;
  before(async () => {
    receiver = await startOtlpReceiver();
    // AWS_EXECUTION_ENV selects the ADOT row; the collector address comes from the standard variable.
    proc = await startServerProcess({ ...FAST_EXPORT, AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpEndpoint });
  });
  after(async () => {
    await proc?.stop();
    await receiver?.close();
  });

  it('new traces get X-Ray ids (the first 8 hex digits are the start time in epoch seconds)', async () => {
    const line = logLineWith(proc, (l) => String(l.msg).startsWith('Trace export:'));
    assert.match(String(line.msg), /with X-Ray trace ids \(AWS_EXECUTION_ENV is set/);
    const res = await restTranslate(proc.restPort);
    const traceId = String(res.headers.get('x-trace-id'));
    const seconds = Number.parseInt(traceId.slice(0, 8), 16);
    assert.ok(Math.abs(seconds - Date.now() / 1000) < 120, `trace id ${traceId} starts with the current time`);
    const spans = await receiver.waitForTrace(traceId, (s) => s.some((x) => x.kind === 2) && s.some((x) => x.name === 'translateText'));
    assertFlowTree(spans, one(spans, 'POST /translateText'));
  });

  it('an X-Amzn-Trace-Id header (REST) or metadata (gRPC) continues the caller\'s trace', async () => {
    const rest = await restTranslate(proc.restPort, { 'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' });
    assert.equal(rest.headers.get('x-trace-id'), '5759e988bd862e3fe1be46a994272793');
    const restSpans = await receiver.waitForTrace('5759e988bd862e3fe1be46a994272793', (s) => s.some((x) => x.kind === 2));
    assert.equal(one(restSpans, 'POST /translateText').parentSpanId, '53995c3f42cd8ad8');

    const rpc = await grpcTranslate(proc.grpcPort, { 'x-amzn-trace-id': 'Root=1-6759e988-cd862e3fe1be46a994272793;Parent=63995c3f42cd8ad8;Sampled=1' });
    assert.equal(rpc.trailers.get('x-trace-id')[0], '6759e988cd862e3fe1be46a994272793');
    const rpcSpans = await receiver.waitForTrace('6759e988cd862e3fe1be46a994272793', (s) => s.some((x) => x.kind === 2));
    assert.equal(one(rpcSpans, `${SERVICE}/TranslateText`).parentSpanId, '63995c3f42cd8ad8');
  });

  it('W3C traceparent still works next to X-Ray', async () => {
    const client = newTraceparent();
    const res = await restTranslate(proc.restPort, { traceparent: client.traceparent });
    assert.equal(res.headers.get('x-trace-id'), client.traceId);
  });
});

describe('calls refused before the handler are traced too', () => {
  let receiver: OtlpReceiver;
  let proc: ServerProcess;
  before(async () => {
    receiver = await startOtlpReceiver();
    proc = await startServerProcess({ ...FAST_EXPORT, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpEndpoint, API_KEYS: 'alice:s3cret' });
  });
  after(async () => {
    await proc?.stop();
    await receiver?.close();
  });

  it('REST 401 and gRPC UNAUTHENTICATED: a server span with the status, the trace ID in the response and the log line', async () => {
    const rest = newTraceparent();
    const res = await restTranslate(proc.restPort, { traceparent: rest.traceparent });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('x-trace-id'), rest.traceId);
    const [restSpan] = await receiver.waitForTrace(rest.traceId, (s) => s.some((x) => x.kind === 2));
    assert.equal(restSpan!.attributes['http.response.status_code'], 401);

    const grpc = newTraceparent();
    const rpc = await grpcTranslate(proc.grpcPort, { traceparent: grpc.traceparent, 'x-request-id': 'refused-rpc' });
    assert.equal(rpc.code, 16, 'UNAUTHENTICATED');
    assert.equal(rpc.trailers.get('x-trace-id')[0], grpc.traceId);
    const [rpcSpan] = await receiver.waitForTrace(grpc.traceId, (s) => s.some((x) => x.kind === 2));
    assert.equal(rpcSpan!.attributes['rpc.grpc.status_code'], 16);
    assert.equal(rpcSpan!.attributes['request.id'], 'refused-rpc');
    await waitForLog(proc, (l) => l.requestId === 'refused-rpc' && typeof l.rpc === 'string');
    assert.equal(logLineWith(proc, (l) => l.requestId === 'refused-rpc' && typeof l.rpc === 'string').trace_id, grpc.traceId);
  });
});

describe('Google Cloud selected without a project or credentials', () => {
  it('one warning, no export, requests still served', async () => {
    // GCE_METADATA_HOST selects the Google Cloud row; nothing answers there, so the access check fails fast.
    const gone = await startOtlpReceiver();
    const closedPort = new URL(gone.httpEndpoint).host;
    await gone.close();
    const proc = await startServerProcess({ GCE_METADATA_HOST: closedPort, GOOGLE_APPLICATION_CREDENTIALS: '', GOOGLE_CLOUD_PROJECT: '', GCLOUD_PROJECT: '' });
    try {
      const telemetryLines = proc.logs.filter((l) => l.component === 'telemetry');
      assert.equal(telemetryLines.filter((l) => l.level === 40).length, 1, 'exactly one warning');
      assert.match(String(telemetryLines.find((l) => l.level === 40)!.msg), /Google Cloud project or credentials unavailable/);
      assert.equal(logLineWith(proc, (l) => String(l.msg).startsWith('Trace export:')).exporter, 'none');
      assert.equal((await restTranslate(proc.restPort)).status, 200);
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  });
});
