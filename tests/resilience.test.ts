import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import type { FlowServiceClient } from '../generated/ts/genkit/flows/v1/flows.js';
import type { GenkitError } from 'genkit';
import { loadGenkit } from '../genkit.config.js';
import { GeminiWireServer } from './support/gemini-wire-server.js';
import { callUnary, flowClient, requestFor } from './support/grpc-client.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/**
 * Breaker, retries, timeouts and the response cache around model calls,
 * against the local Gemini-wire server with injected faults.
 */

const PIRATE = { question: 'Which sea?' };

interface Rig {
  gemini: GeminiWireServer;
  server: TestServer;
  client: FlowServiceClient;
}

async function rig(env: Record<string, string>): Promise<Rig> {
  const gemini = await GeminiWireServer.start();
  const server = await startTestServer({ GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.baseUrl, ...env });
  return { gemini, server, client: flowClient(server.grpcPort!) };
}

async function teardown(r: Rig | undefined): Promise<void> {
  if (!r) return;
  r.client.close();
  await r.server.close();
  await r.gemini.close();
}

function post(r: Rig, flow: string, data: unknown) {
  return fetch(`${r.server.baseUrl}/${flow}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data }) });
}

describe('retries', () => {
  let r: Rig;
  before(async () => {
    r = await rig({ LLM_MAX_RETRIES: '2', CB_FAILURE_THRESHOLD: '50', CACHE_ENABLED: 'false' });
  });
  afterEach(() => r.gemini.reset());
  after(() => teardown(r));

  it('2 × 503 then 200: one success after 3 upstream requests', async () => {
    r.gemini.respondInOrder({ status: 503 }, { status: 503 }, { text: 'Arr!' });
    const res = await post(r, 'pirateChat', PIRATE);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { result: { answer: 'Arr!', persona: 'pirate captain' } });
    assert.equal(r.gemini.requests.length, 3);
  });

  it('400: one upstream request, INVALID_ARGUMENT to the caller on both surfaces', async () => {
    r.gemini.respondWith(() => ({ status: 400, message: 'bad request' }));
    const res = await post(r, 'pirateChat', PIRATE);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { status: string; message: string };
    assert.equal(body.status, 'INVALID_ARGUMENT');
    assert.doesNotMatch(body.message, /127\.0\.0\.1|http:/, 'the upstream URL is not shown');
    assert.equal(r.gemini.requests.length, 1);
    await assert.rejects(callUnary(r.client, 'pirateChat', PIRATE), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
    assert.equal(r.gemini.requests.length, 2);
  });

  it('429 with Retry-After: 1 waits about a second before retrying', async () => {
    const times: number[] = [];
    r.gemini.respondWith((_req, i) => {
      times.push(Date.now());
      return i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { text: 'Arr!' };
    });
    const res = await post(r, 'pirateChat', PIRATE);
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(times.length, 2);
    const waited = times[1]! - times[0]!;
    assert.ok(waited >= 950 && waited < 2500, `waited ${waited} ms`);
  });

  it('a gateway 504 (which the plugin reports as UNKNOWN) is retried', async () => {
    r.gemini.respondInOrder({ status: 504 }, { text: 'Arr!' });
    const res = await post(r, 'pirateChat', PIRATE);
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(r.gemini.requests.length, 2);
  });

  it('keeps upstream error details (quota data, project numbers) out of the response', async () => {
    r.gemini.respondWith(() => ({
      status: 400,
      message: 'API key not valid.',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', metadata: { consumer: 'projects/123456789' } }],
    }));
    const res = await post(r, 'pirateChat', PIRATE);
    const body = (await res.json()) as { message: string };
    assert.match(body.message, /API key not valid\./);
    assert.doesNotMatch(JSON.stringify(body), /123456789|API_KEY_INVALID|Details/);
  });

  it('a dropped connection is retried', async () => {
    r.gemini.respondInOrder({ reset: true }, { text: 'Arr!' });
    const res = await post(r, 'pirateChat', PIRATE);
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(r.gemini.requests.length, 2);
  });
});

describe('an already-aborted caller signal', () => {
  it('never reaches the model (google-genai 1.42 would send the request anyway)', async () => {
    const gemini = await GeminiWireServer.start();
    try {
      const { ai } = await loadGenkit({ kind: 'gemini', apiKey: 'test-key', model: 'googleai/gemini-2.5-flash', baseUrl: gemini.baseUrl });
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(ai.generate({ prompt: 'hi', abortSignal: controller.signal }), (e: GenkitError) => e.status === 'CANCELLED');
      assert.equal(gemini.requests.length, 0);
    } finally {
      await gemini.close();
    }
  });
});

describe('timeouts', () => {
  let r: Rig;
  before(async () => {
    r = await rig({ LLM_TIMEOUT_MS: '300', LLM_MAX_RETRIES: '0', CACHE_ENABLED: 'false' });
  });
  after(() => teardown(r));

  it('an upstream hang ends at LLM_TIMEOUT_MS: the upstream connection is closed, the caller gets 504 DEADLINE_EXCEEDED', async () => {
    r.gemini.respondWith(() => ({ hang: true }));
    const started = Date.now();
    const res = await post(r, 'pirateChat', PIRATE);
    const elapsed = Date.now() - started;
    assert.equal(res.status, 504);
    assert.equal(((await res.json()) as { status: string }).status, 'DEADLINE_EXCEEDED');
    assert.ok(elapsed >= 280 && elapsed < 2000, `ended after ${elapsed} ms`);
    await r.gemini.requests[0]!.closed;
    assert.equal(r.gemini.requests[0]!.answered, false);
  });
});

describe('circuit breaker (threshold 3, recovery 1 s, no retries)', () => {
  let r: Rig;
  afterEach(() => teardown(r));

  async function openTheCircuit(): Promise<void> {
    r.gemini.respondWith(() => ({ status: 503 }));
    for (let i = 0; i < 3; i++) {
      const res = await post(r, 'pirateChat', PIRATE);
      assert.equal(res.status, 503);
      await res.text();
    }
    assert.equal(r.gemini.requests.length, 3);
  }

  const circuit = async () => ((await (await fetch(`${r.server.baseUrl}/health`)).json()) as { circuit: string }).circuit;

  it('opens after exactly the threshold and then fails fast: REST 503 + Retry-After, gRPC UNAVAILABLE, no upstream request', async () => {
    r = await rig({ CB_FAILURE_THRESHOLD: '3', CB_RECOVERY_TIMEOUT_MS: '1000', LLM_MAX_RETRIES: '0', CACHE_ENABLED: 'false' });
    assert.equal(await circuit(), 'CLOSED');
    await openTheCircuit();
    assert.equal(await circuit(), 'OPEN');

    const started = Date.now();
    const res = await post(r, 'pirateChat', PIRATE);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.match(((await res.json()) as { message: string }).message, /circuit open/);
    await assert.rejects(callUnary(r.client, 'pirateChat', PIRATE), (e: ServiceError) => {
      assert.equal(e.code, status.UNAVAILABLE);
      assert.equal(e.metadata.get('retry-after')[0], '1');
      return true;
    });
    assert.ok(Date.now() - started < 200, 'failed fast');
    assert.equal(r.gemini.requests.length, 3, 'no upstream request while open');
    assert.ok(r.server.logs.lines.some((l) => l.circuit === 'OPEN'), 'the state change is logged');
  });

  it('lets one probe through after the recovery timeout; success closes the circuit', async () => {
    r = await rig({ CB_FAILURE_THRESHOLD: '3', CB_RECOVERY_TIMEOUT_MS: '500', LLM_MAX_RETRIES: '0', CACHE_ENABLED: 'false' });
    await openTheCircuit();
    await new Promise((resolve) => setTimeout(resolve, 600));
    r.gemini.respondWith(() => ({ text: 'Arr, back!' }));
    const probe = await post(r, 'pirateChat', PIRATE);
    assert.equal(probe.status, 200);
    await probe.text();
    assert.equal(r.gemini.requests.length, 4);
    assert.equal(await circuit(), 'CLOSED');
    assert.ok(r.server.logs.lines.some((l) => l.circuit === 'HALF_OPEN'));
  });

  it('a failed probe re-opens the circuit', async () => {
    r = await rig({ CB_FAILURE_THRESHOLD: '3', CB_RECOVERY_TIMEOUT_MS: '500', LLM_MAX_RETRIES: '0', CACHE_ENABLED: 'false' });
    await openTheCircuit();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const probe = await post(r, 'pirateChat', PIRATE);
    assert.equal(probe.status, 503);
    await probe.text();
    assert.equal(r.gemini.requests.length, 4, 'exactly one probe');
    assert.equal(await circuit(), 'OPEN');
    const next = await post(r, 'pirateChat', PIRATE);
    await next.text();
    assert.equal(r.gemini.requests.length, 4, 'open again: no upstream request');
  });

  it('does not count invalid requests (upstream 400) against the circuit', async () => {
    r = await rig({ CB_FAILURE_THRESHOLD: '3', LLM_MAX_RETRIES: '0', CACHE_ENABLED: 'false' });
    r.gemini.respondWith(() => ({ status: 400 }));
    for (let i = 0; i < 5; i++) await (await post(r, 'pirateChat', PIRATE)).text();
    assert.equal(await circuit(), 'CLOSED');
    assert.equal(r.gemini.requests.length, 5);
  });

  it('CB_ENABLED=false never opens', async () => {
    r = await rig({ CB_ENABLED: 'false', LLM_MAX_RETRIES: '0', CACHE_ENABLED: 'false' });
    r.gemini.respondWith(() => ({ status: 503 }));
    for (let i = 0; i < 6; i++) await (await post(r, 'pirateChat', PIRATE)).text();
    assert.equal(r.gemini.requests.length, 6);
    assert.equal(await circuit(), 'DISABLED');
  });
});

describe('response cache with request coalescing', () => {
  let r: Rig;
  afterEach(() => teardown(r));
  const translation = { translatedText: 'Bonjour', confidence: 'high' };

  it('10 concurrent identical translateText calls make 1 upstream request and get 10 equal results', async () => {
    r = await rig({});
    r.gemini.respondWith(() => ({ json: translation }));
    const responses = await Promise.all(Array.from({ length: 10 }, () => post(r, 'translateText', { text: 'Hello' })));
    const bodies = await Promise.all(responses.map((res) => res.json()));
    assert.equal(r.gemini.requests.length, 1);
    for (const body of bodies) assert.deepEqual(body, bodies[0]);
    assert.deepEqual(responses.map((res) => res.headers.get('x-cache')).sort(), ['HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'MISS']);
    assert.ok(r.server.logs.lines.some((l) => l.cache === 'HIT'), 'a hit shows on the access log line');
  });

  it('keys on the input after defaults, and serves the hit the same over gRPC (x-cache trailer)', async () => {
    r = await rig({});
    r.gemini.respondWith(() => ({ json: translation }));
    const rest = await post(r, 'translateText', {});
    const restBody = (await rest.json()) as { result: unknown };
    assert.equal(rest.headers.get('x-cache'), 'MISS');
    const explicit = await post(r, 'translateText', { targetLanguage: 'French' });
    assert.equal(explicit.headers.get('x-cache'), 'HIT');
    await explicit.text();

    const trailers = await new Promise<Metadata>((resolve, reject) => {
      const call = r.client.translateText(requestFor('translateText', {}) as never, (e) => e && reject(e));
      call.on('status', (s: StatusObject) => resolve(s.metadata));
    });
    assert.deepEqual(trailers.get('x-cache'), ['HIT']);
    assert.equal(r.gemini.requests.length, 1);
    assert.equal((restBody.result as { translatedText: string }).translatedText, 'Bonjour');
  });

  it('expires entries after CACHE_TTL_MS', async () => {
    // 1 s: the two calls before the pause must fall inside the TTL even on a loaded machine.
    r = await rig({ CACHE_TTL_MS: '1000' });
    r.gemini.respondWith(() => ({ json: translation }));
    await (await post(r, 'translateText', { text: 'A' })).text();
    await (await post(r, 'translateText', { text: 'A' })).text();
    assert.equal(r.gemini.requests.length, 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const after = await post(r, 'translateText', { text: 'A' });
    assert.equal(after.headers.get('x-cache'), 'MISS');
    await after.text();
    assert.equal(r.gemini.requests.length, 2);
  });

  it('evicts the least recently used entry beyond CACHE_MAX_ENTRIES', async () => {
    r = await rig({ CACHE_MAX_ENTRIES: '2' });
    r.gemini.respondWith(() => ({ json: translation }));
    for (const text of ['A', 'B', 'A', 'C']) await (await post(r, 'translateText', { text })).text();
    assert.equal(r.gemini.requests.length, 3, 'A, B, C (the second A was a hit)');
    await (await post(r, 'translateText', { text: 'A' })).text();
    assert.equal(r.gemini.requests.length, 3, 'A was used more recently than B, so it stayed');
    await (await post(r, 'translateText', { text: 'B' })).text();
    assert.equal(r.gemini.requests.length, 4, 'B was evicted');
  });

  it('does not cache errors', async () => {
    r = await rig({ LLM_MAX_RETRIES: '0' });
    r.gemini.respondInOrder({ status: 400 }, { json: translation });
    assert.equal((await post(r, 'translateText', { text: 'A' })).status, 400);
    const second = await post(r, 'translateText', { text: 'A' });
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-cache'), 'MISS');
    await second.text();
    assert.equal(r.gemini.requests.length, 2);
  });

  it('never caches the non-idempotent flows (tellJoke, pirateChat, tellStory)', async () => {
    r = await rig({});
    r.gemini.respondWith(() => ({ text: 'Arr!' }));
    for (const flow of ['tellJoke', 'pirateChat', 'tellStory']) {
      for (let i = 0; i < 2; i++) {
        const res = await post(r, flow, {});
        assert.equal(res.headers.get('x-cache'), null);
        await res.text();
      }
    }
    assert.equal(r.gemini.requests.length, 6);
  });
});
