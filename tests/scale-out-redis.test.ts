import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { streamFlow } from 'genkit/beta/client';
import { callStream, callUnary, collect, flowClient } from './support/grpc-client.js';
import { redisUnavailableReason, startRedis, type TestRedis } from './support/redis-server.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';
import { startTestServer, type TestServer } from './support/test-server.js';
import { until } from './support/until.js';

/**
 * Two replicas on one real Redis act as one service: one rate-limit budget,
 * one response cache, resumable streams that any replica can replay (REST and
 * gRPC), and no outage when Redis goes away. The stream and outage replicas
 * are real server processes; the budget pair (RATE_LIMIT=4/minute, so it
 * needs its own pair) are two servers in this process, each with its own
 * limiter, cache and Redis connection: Redis is all they share.
 */

const skip = redisUnavailableReason() ?? false;
const post = (port: number, flow: string, data: object, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${port}/${flow}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ data }),
  });
/** How long a replica may take to notice Redis going away or coming back. */
const REDIS_WAIT = { timeoutMs: 10_000 };
const health = async (port: number) => (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { redis?: string };

describe('two replicas on one Redis', { skip }, () => {
  let redis: TestRedis;
  /** Small budget: the shared-limit replicas. */
  let limitedA: TestServer;
  let limitedB: TestServer;
  /** Slow model, big budget: streams and Redis outages. */
  let a: ServerProcess;
  let b: ServerProcess;

  before(async () => {
    redis = await startRedis({ password: 'p@ss word' });
    const shared = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'limited:' };
    const streaming = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'streams:', OFFLINE_MODEL_LATENCY_MS: '80', RATE_LIMIT: '100000/minute' };
    // Assigned as each starts, so `after` stops whatever did start.
    await Promise.all([
      startServerProcess(streaming).then((p) => (a = p)),
      startServerProcess(streaming).then((p) => (b = p)),
      startTestServer({ ...shared, RATE_LIMIT: '4/minute' }).then((s) => (limitedA = s)),
      startTestServer({ ...shared, RATE_LIMIT: '4/minute' }).then((s) => (limitedB = s)),
    ]);
    await until('every replica on Redis', async () =>
      (await Promise.all([limitedA, limitedB, a, b].map((p) => health(p.restPort)))).every((h) => h.redis === 'up'),
      REDIS_WAIT,
    );
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop(), limitedA?.close(), limitedB?.close()]);
    await redis?.close();
  });

  it('share one response cache (MISS on A, HIT on B) and one budget (the 5th call on either replica gets 429)', async () => {
    const input = { text: 'one cache for every replica', targetLanguage: 'French' };
    const first = await post(limitedA.restPort, 'translateText', input);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-cache'), 'MISS');
    const second = await post(limitedB.restPort, 'translateText', input);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-cache'), 'HIT');
    assert.deepEqual(await second.json(), await first.json());

    assert.equal((await post(limitedA.restPort, 'tellJoke', {})).status, 200);
    const fourth = await post(limitedB.restPort, 'tellJoke', {});
    assert.equal(fourth.status, 200);
    assert.equal(fourth.headers.get('ratelimit-remaining'), '0');
    for (const port of [limitedA.restPort, limitedB.restPort]) {
      const refused = await post(port, 'tellJoke', {});
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
    }
    // The same budget covers gRPC.
    const client = flowClient(limitedB.grpcPort!);
    await assert.rejects(callUnary(client, 'tellJoke', {}), (e: ServiceError) => e.code === status.RESOURCE_EXHAUSTED);
    client.close();
    // The password never reaches a log line.
    for (const line of [...limitedA.logs.raw, ...limitedB.logs.raw, ...a.logs.map((l) => JSON.stringify(l))]) assert.ok(!line.includes('p@ss'), line);
  });

  it('resume a REST tellStory stream started on A, dropped after its first chunk, on B: every chunk, then the result', async () => {
    const input = { topic: 'a lighthouse keeper' };
    const reference = streamFlow({ url: `http://127.0.0.1:${b.restPort}/tellStory`, input });
    const expectedChunks: unknown[] = [];
    for await (const chunk of reference.stream) expectedChunks.push(chunk);
    const expectedResult = await reference.output;
    assert.ok(expectedChunks.length >= 3, `the story streams in ${expectedChunks.length} chunks`);

    // The first client reads one chunk, then its connection drops.
    const started = await post(a.restPort, 'tellStory?stream=true', input);
    const streamId = started.headers.get('x-genkit-stream-id');
    assert.match(streamId ?? '', /^[0-9a-f-]{36}$/);
    const reader = started.body!.getReader();
    const firstEvent = new TextDecoder().decode((await reader.read()).value);
    assert.ok(firstEvent.startsWith(`data: ${JSON.stringify({ message: expectedChunks[0] })}`), firstEvent);
    await reader.cancel();

    const resumed = streamFlow({ url: `http://127.0.0.1:${b.restPort}/tellStory`, input, streamId: streamId! });
    const chunks: unknown[] = [];
    for await (const chunk of resumed.stream) chunks.push(chunk);
    assert.deepEqual(chunks, expectedChunks);
    assert.deepEqual(await resumed.output, expectedResult);

    const unknown = await post(b.restPort, 'tellStory?stream=true', input, { 'x-genkit-stream-id': 'no-such-stream' });
    assert.equal(unknown.status, 204);
  });

  it('resume a gRPC TellStoryStream started on A, cancelled after its first message, on B (x-genkit-stream-id metadata)', async () => {
    const request = { topic: 'a lighthouse keeper' };
    const clientA = flowClient(a.grpcPort);
    const clientB = flowClient(b.grpcPort);
    const expected = await collect(callStream(clientB, 'tellStoryStream', request));

    const call = callStream(clientA, 'tellStoryStream', request);
    const streamId = new Promise<string>((resolve) => call.once('metadata', (m: Metadata) => resolve(String(m.get('x-genkit-stream-id')[0] ?? ''))));
    const first = await new Promise<unknown>((resolve) => call.once('data', resolve));
    call.on('error', () => undefined);
    call.cancel();
    assert.deepEqual(first, expected[0]);

    const id = await streamId;
    assert.match(id, /^[0-9a-f-]{36}$/);
    const replayed = await collect(callStream(clientB, 'tellStoryStream', request, { metadata: { 'x-genkit-stream-id': id } }));
    assert.deepEqual(replayed, expected);
    await assert.rejects(
      collect(callStream(clientB, 'tellStoryStream', request, { metadata: { 'x-genkit-stream-id': 'no-such-stream' } })),
      (e: ServiceError) => e.code === status.NOT_FOUND,
    );
    clientA.close();
    clientB.close();
  });

  it('cancel a stream running on A from B (DELETE with its id): a resume ends with CANCELLED', async () => {
    const res = await post(a.restPort, 'tellStory?stream=true', { topic: 'a very long night' });
    const id = res.headers.get('x-genkit-stream-id')!;
    void res.body?.cancel();
    const cancelled = await fetch(`http://127.0.0.1:${b.restPort}/tellStory`, { method: 'DELETE', headers: { 'x-genkit-stream-id': id } });
    assert.equal(cancelled.status, 204);
    const resumed = await post(b.restPort, 'tellStory?stream=true', { topic: 'a very long night' }, { 'x-genkit-stream-id': id });
    assert.match(await resumed.text(), /^error: \{"error":\{.*"status":"CANCELLED"/m);
  });

  it('keep answering while Redis is down (one warning each), and share again once it is back', async () => {
    await redis.kill();
    await until('both replicas to see Redis down', async () => (await health(a.restPort)).redis === 'down' && (await health(b.restPort)).redis === 'down', REDIS_WAIT);

    const whileDown = { text: 'while redis is down', targetLanguage: 'German' };
    const restA = await post(a.restPort, 'translateText', whileDown);
    assert.equal(restA.status, 200);
    assert.equal(restA.headers.get('x-cache'), 'MISS');
    assert.equal((await post(b.restPort, 'translateText', whileDown)).status, 200);
    const client = flowClient(b.grpcPort);
    assert.ok(await callUnary(client, 'tellJoke', {}));
    // A new stream falls back to the replica's own memory and still resumes there.
    const started = streamFlow({ url: `http://127.0.0.1:${a.restPort}/tellJoke`, input: {} });
    const id = await started.streamId;
    for await (const _ of started.stream) void _;
    await started.output;
    const replay = streamFlow({ url: `http://127.0.0.1:${a.restPort}/tellJoke`, input: {}, streamId: id! });
    for await (const _ of replay.stream) void _;
    assert.ok(await replay.output);

    await redis.start();
    await until('both replicas back on Redis', async () => (await health(a.restPort)).redis === 'up' && (await health(b.restPort)).redis === 'up', REDIS_WAIT);
    const afterwards = { text: 'after redis came back', targetLanguage: 'German' };
    assert.equal((await post(a.restPort, 'translateText', afterwards)).headers.get('x-cache'), 'MISS');
    assert.equal((await post(b.restPort, 'translateText', afterwards)).headers.get('x-cache'), 'HIT');
    client.close();

    const count = (replica: ServerProcess, prefix: string) => replica.logs.filter((l) => String(l.msg).startsWith(prefix)).length;
    await until('the log lines', async () => [a, b].every((r) => count(r, 'Redis is back') > 0), REDIS_WAIT);
    for (const replica of [a, b]) {
      assert.equal(count(replica, 'Redis unreachable'), 1, 'one warning when it goes');
      assert.equal(count(replica, 'Redis is back'), 1, 'one line when it returns');
    }
  });
});
