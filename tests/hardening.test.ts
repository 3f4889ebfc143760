import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { credentials, makeGenericClientConstructor, Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import type { FlowServiceClient } from '../generated/ts/genkit/flows/v1/flows.js';
import { callUnary, flowClient, requestFor, useServerWithClient } from './support/grpc-client.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const JSON_HEADERS = { 'content-type': 'application/json' };

function post(server: TestServer, path: string, data: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify({ data }) });
}

/** A raw HTTP request, for headers fetch does not let us set (Host). */
function rawGet(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...JSON_HEADERS, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ data: {} }));
  });
}

/** Calls TellJoke and returns the response headers and trailers (metadata) with the outcome. */
function rpcWithMetadata(client: FlowServiceClient, request: object, metadata: Record<string, string>) {
  return new Promise<{ headers: Record<string, unknown>; trailers: Record<string, unknown>; error?: ServiceError }>((resolve) => {
    const md = new Metadata();
    for (const [key, value] of Object.entries(metadata)) md.set(key, value);
    let headers: Record<string, unknown> = {};
    const call = client.tellJoke(requestFor('tellJoke', request) as never, md, () => undefined);
    call.on('metadata', (m: Metadata) => (headers = m.getMap()));
    call.on('status', (s: StatusObject) => resolve({ headers, trailers: s.metadata.getMap() }));
  });
}

describe('request IDs on both surfaces', () => {
  let server: TestServer;
  let client: FlowServiceClient;
  useServerWithClient(
    () => startTestServer(),
    (s, c) => ((server = s), (client = c)),
  );

  it('REST reuses a sane X-Request-ID, echoes it, and logs it on the access line', async () => {
    const res = await post(server, '/tellJoke', {}, { 'x-request-id': 'client-abc.123_x' });
    await res.text();
    assert.equal(res.headers.get('x-request-id'), 'client-abc.123_x');
    const line = server.logs.lines.find((l) => l.requestId === 'client-abc.123_x');
    assert.ok(line, 'an access line carries the request ID');
    assert.equal((line.req as { method: string; path: string }).path, '/tellJoke');
    assert.equal((line.res as { status: number }).status, 200);
    assert.equal(typeof line.durationMs, 'number');
    assert.equal(typeof (line.req as { clientIp?: string }).clientIp, 'string');
  });

  it('REST generates a UUID when none is sent, and replaces a malicious one', async () => {
    const none = await post(server, '/tellJoke', {});
    await none.text();
    assert.match(none.headers.get('x-request-id') ?? '', UUID);
    for (const bad of ['x'.repeat(129), 'has space', '<script>alert(1)</script>', 'a/b', "quote'"]) {
      const res = await post(server, '/tellJoke', {}, { 'x-request-id': bad });
      await res.text();
      assert.match(res.headers.get('x-request-id') ?? '', UUID, `replaced ${JSON.stringify(bad)}`);
    }
  });

  it('gRPC reuses a sane x-request-id in response headers and trailers, and replaces a malicious one', async () => {
    const ok = await rpcWithMetadata(client, { name: 'Ada' }, { 'x-request-id': 'rpc-req-1' });
    assert.deepEqual(ok.headers['x-request-id'], 'rpc-req-1');
    assert.deepEqual(ok.trailers['x-request-id'], 'rpc-req-1');
    const rpcLine = server.logs.lines.find((l) => l.requestId === 'rpc-req-1');
    assert.ok(rpcLine, 'the RPC access line carries the request ID');
    assert.equal(rpcLine.rpc, '/genkit.flows.v1.FlowService/TellJoke');
    assert.equal(rpcLine.status, 'OK');
    assert.equal(typeof rpcLine.peer, 'string');

    const bad = await rpcWithMetadata(client, { name: 'Ada' }, { 'x-request-id': 'bad id with spaces' });
    assert.match(String(bad.headers['x-request-id']), UUID);
  });
});

describe('REST security headers, CORS and trusted hosts', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ CORS_ALLOWED_ORIGINS: 'https://app.example', TRUSTED_HOSTS: 'api.example.com,127.0.0.1', TRUST_PROXY: 'true' });
  });
  after(async () => {
    await server.close();
  });

  it('sends the API security headers, and no HSTS over plain HTTP', async () => {
    const res = await post(server, '/tellJoke', {});
    await res.text();
    assert.equal(res.headers.get('content-security-policy'), "default-src 'none'");
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('referrer-policy'), 'strict-origin-when-cross-origin');
    assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(res.headers.get('permissions-policy'), 'geolocation=(), camera=(), microphone=()');
    assert.equal(res.headers.get('strict-transport-security'), null);
  });

  it('sends HSTS behind an HTTPS proxy (TRUST_PROXY and X-Forwarded-Proto: https)', async () => {
    const res = await post(server, '/tellJoke', {}, { 'x-forwarded-proto': 'https' });
    await res.text();
    assert.equal(res.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
  });

  it('allows a preflight from a listed origin with the documented methods and headers', async () => {
    const res = await fetch(`${server.baseUrl}/tellJoke`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET,POST,DELETE,OPTIONS');
    assert.equal(res.headers.get('access-control-allow-headers'), 'Content-Type,Authorization,X-Request-ID,X-Genkit-Stream-Id');
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
  });

  it('denies a preflight from any other origin (no Access-Control-Allow-Origin)', async () => {
    const res = await fetch(`${server.baseUrl}/tellJoke`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  it('refuses an untrusted Host with 400 and serves a trusted one', async () => {
    const untrusted = await rawGet(server.restPort, '/tellJoke', { host: 'evil.example' });
    assert.equal(untrusted.status, 400);
    assert.deepEqual(JSON.parse(untrusted.body), {
      status: 'INVALID_ARGUMENT',
      message: 'Untrusted Host header.',
      details: { errorInfo: { reason: 'INVALID_ARGUMENT', domain: 'genkit-flow-gateway' } },
    });
    const trusted = await rawGet(server.restPort, '/tellJoke', { host: 'api.example.com' });
    assert.equal(trusted.status, 200);
  });
});

describe('CORS defaults', () => {
  it('is same-origin only without a list, and `*` in debug without a list', async () => {
    const strict = await startTestServer();
    const debug = await startTestServer({ DEBUG: 'true', LOG_FORMAT: 'json' });
    try {
      const preflight = (s: TestServer) =>
        fetch(`${s.baseUrl}/tellJoke`, { method: 'OPTIONS', headers: { origin: 'https://any.example', 'access-control-request-method': 'POST' } });
      assert.equal((await preflight(strict)).headers.get('access-control-allow-origin'), null);
      assert.equal((await preflight(debug)).headers.get('access-control-allow-origin'), '*');
    } finally {
      await Promise.all([strict.close(), debug.close()]);
    }
  });
});

describe('one rate limiter for REST and gRPC (RATE_LIMIT=3/minute)', () => {
  it('answers the 4th REST call with 429, Retry-After and RateLimit headers; /health is exempt', async () => {
    const server = await startTestServer({ RATE_LIMIT: '3/minute' });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await fetch(`${server.baseUrl}/health`)).status, 200);
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 4; i++) {
        last = await post(server, '/tellJoke', {});
        await last.text();
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const retryAfter = Number(last!.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.equal(last!.headers.get('ratelimit-limit'), '3');
      assert.equal(last!.headers.get('ratelimit-remaining'), '0');
      assert.equal(last!.headers.get('ratelimit-policy'), '3;w=60');
    } finally {
      await server.close();
    }
  });

  it('answers the 4th RPC with RESOURCE_EXHAUSTED; the budget is shared with REST', async () => {
    const server = await startTestServer({ RATE_LIMIT: '3/minute' });
    const client = flowClient(server.grpcPort!);
    try {
      await callUnary(client, 'tellJoke', {});
      await callUnary(client, 'tellJoke', {});
      const rest = await post(server, '/tellJoke', {});
      await rest.text();
      assert.equal(rest.status, 200, 'the 3rd call, over REST, is allowed');
      await assert.rejects(callUnary(client, 'tellJoke', {}), (e: ServiceError) => {
        assert.equal(e.code, status.RESOURCE_EXHAUSTED);
        assert.match(e.details, /Rate limit exceeded/);
        assert.ok(Number(e.metadata.get('retry-after')[0]) >= 1);
        return true;
      });
      // gRPC health is exempt from the limiter.
      const Health = makeGenericClientConstructor(healthService as never, 'Health');
      const health = new Health(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure()) as unknown as {
        check(request: object, callback: (e: ServiceError | null, r?: { status: string }) => void): void;
        close(): void;
      };
      for (let i = 0; i < 3; i++) {
        const answer = await new Promise<{ status: string }>((resolve, reject) =>
          health.check({ service: '' }, (e, r) => (e ? reject(e) : resolve(r!))),
        );
        assert.equal(answer.status, 'SERVING');
      }
      health.close();
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe('API keys on both surfaces (API_KEYS=alice:secret-key-1)', () => {
  const KEY = 'secret-key-1';
  let server: TestServer;
  let client: FlowServiceClient;
  useServerWithClient(
    () => startTestServer({ API_KEYS: `alice:${KEY}` }),
    (s, c) => ((server = s), (client = c)),
  );

  for (const [label, headers] of [
    ['missing', {}],
    ['wrong', { authorization: 'Bearer not-the-key' }],
    ['not Bearer', { authorization: KEY }],
  ] as const) {
    it(`REST: a ${label} key gets 401 UNAUTHENTICATED, even with invalid input`, async () => {
      for (const data of [{}, { name: 'x'.repeat(500) }]) {
        const res = await post(server, '/tellJoke', data, headers);
        assert.equal(res.status, 401);
        assert.equal(((await res.json()) as { status: string }).status, 'UNAUTHENTICATED');
      }
    });

    it(`gRPC: a ${label} key gets UNAUTHENTICATED`, async () => {
      await assert.rejects(callUnary(client, 'tellJoke', {}, { metadata: headers }), (e: ServiceError) => e.code === status.UNAUTHENTICATED);
    });
  }

  it('REST: the right key is served, and the caller becomes tellJoke\'s username', async () => {
    const res = await post(server, '/tellJoke', { name: 'Ada' }, { authorization: `Bearer ${KEY}` });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { result: { username: string } }).result.username, 'alice');
  });

  it('gRPC: the right key is served, and the caller becomes tellJoke\'s username', async () => {
    const response = (await callUnary(client, 'tellJoke', { name: 'Ada' }, { metadata: { authorization: `Bearer ${KEY}` } })) as { username?: string };
    assert.equal(response.username, 'alice');
  });

  it('health stays open without a key on both surfaces', async () => {
    assert.equal((await fetch(`${server.baseUrl}/health`)).status, 200);
  });

  it('never writes the key to the logs', () => {
    assert.ok(server.logs.raw.length > 5);
    for (const line of server.logs.raw) assert.ok(!line.includes(KEY), `log line leaks the key: ${line}`);
  });
});

describe('start-up warnings', () => {
  it('warns when API_KEYS and TRUSTED_HOSTS are unset outside debug, and not in debug', async () => {
    const open = await startTestServer();
    const debug = await startTestServer({ DEBUG: 'true', LOG_FORMAT: 'json' });
    try {
      const warnings = (s: TestServer) => s.logs.lines.filter((l) => l.level === 40).map((l) => String(l.msg));
      assert.ok(warnings(open).some((m) => m.startsWith('API_KEYS is not set')));
      assert.ok(warnings(open).some((m) => m.startsWith('TRUSTED_HOSTS is not set')));
      assert.deepEqual(warnings(debug), []);
    } finally {
      await Promise.all([open.close(), debug.close()]);
    }
  });
});
