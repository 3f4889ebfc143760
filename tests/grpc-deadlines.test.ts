import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { TellJokeRequest, TellJokeStreamResponse, TellStoryRequest } from '../generated/ts/genkit/flows/v1/flows.js';
import { rawCall, rawSession, type RawResponse } from './support/raw-h2.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/**
 * Deadlines as a client nobody here wrote sends them: a bare HTTP/2 client
 * with a `grpc-timeout` header and no client-side enforcement (the grpc-js
 * client gives up on its own, which would hide what the server does). Every
 * call whose deadline passes must end promptly with DEADLINE_EXCEEDED, with
 * nothing written after it, and be logged with that status.
 */

const SERVICE = '/genkit.flows.v1.FlowService';
const DEADLINE_EXCEEDED = 4;
const joke = (name: string) => TellJokeRequest.encode(TellJokeRequest.fromPartial({ name })).finish();
const story = (topic: string) => TellStoryRequest.encode(TellStoryRequest.fromPartial({ topic })).finish();

function useRawServer(env: Record<string, string>): () => { server: TestServer; session: ClientHttp2Session } {
  let server: TestServer;
  let session: ClientHttp2Session;
  before(async () => {
    server = await startTestServer(env);
    session = rawSession(server.grpcPort!);
    // Warm up (first-call compilation would otherwise eat the first deadline).
    assert.equal((await rawCall(session, `${SERVICE}/TellJokeStream`, joke('warm'))).status, 0);
  });
  after(async () => {
    session.close();
    await server.close();
  });
  return () => ({ server, session });
}

async function accessLine(server: TestServer, requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 50; i++) {
    const line = server.logs.lines.find((l) => l.requestId === requestId && typeof l.rpc === 'string');
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no access line for ${requestId}`);
}

function assertDeadlineExceeded(response: RawResponse, what: string): void {
  assert.ok(response.ended, `${what}: the stream ended (END_STREAM) instead of hanging`);
  assert.equal(response.status, DEADLINE_EXCEEDED, `${what}: grpc-status ${response.status} (${String(response.trailers['grpc-message'])})`);
  assert.equal(response.afterTrailers, 0, `${what}: nothing after the trailers`);
}

describe('gRPC deadlines from a raw HTTP/2 client (fast offline model)', () => {
  const fixture = useRawServer({});

  for (const timeout of ['1n', '1m']) {
    it(`answers unary TellJoke and TellStory with grpc-timeout ${timeout} with DEADLINE_EXCEEDED, not OK`, async () => {
      const { server, session } = fixture();
      for (const [method, payload] of [
        ['TellJoke', joke(`unary-${timeout}`)],
        ['TellStory', story(`a cat ${timeout}`)],
      ] as const) {
        const requestId = `deadline-${method}-${timeout}`;
        const response = await rawCall(session, `${SERVICE}/${method}`, payload, { 'grpc-timeout': timeout, 'x-request-id': requestId });
        assertDeadlineExceeded(response, `${method} ${timeout}`);
        assert.equal(response.messages.length, 0, 'no response message after the deadline');
        assert.equal((await accessLine(server, requestId)).status, 'DEADLINE_EXCEEDED', 'the access log records what the client got');
      }
    });

    it(`ends TellJokeStream with grpc-timeout ${timeout} promptly with DEADLINE_EXCEEDED and no result`, async () => {
      const { server, session } = fixture();
      const requestId = `deadline-stream-${timeout}`;
      const response = await rawCall(session, `${SERVICE}/TellJokeStream`, joke(`stream-${timeout}`), { 'grpc-timeout': timeout, 'x-request-id': requestId });
      assertDeadlineExceeded(response, `TellJokeStream ${timeout}`);
      assert.ok(response.elapsedMs < 1000, `ended after ${Math.round(response.elapsedMs)} ms`);
      assert.ok(!response.messages.some((m) => TellJokeStreamResponse.decode(m).result), 'no result after the deadline');
      assert.equal((await accessLine(server, requestId)).status, 'DEADLINE_EXCEEDED');
    });
  }

  it('still answers OK with a generous deadline on the same connection', async () => {
    const { session } = fixture();
    const response = await rawCall(session, `${SERVICE}/TellJokeStream`, joke('generous'), { 'grpc-timeout': '5S' });
    assert.equal(response.status, 0);
    assert.ok(TellJokeStreamResponse.decode(response.messages.at(-1)!).result, 'the last message is the result');
  });
});

describe('gRPC deadlines from a raw HTTP/2 client (slow offline model, deadline mid-stream)', () => {
  const fixture = useRawServer({ OFFLINE_MODEL_LATENCY_MS: '60' });

  it('ends a stream whose deadline passes between chunks at the deadline, with nothing written after it', async () => {
    const { server, session } = fixture();
    const requestId = 'deadline-mid-stream';
    const response = await rawCall(session, `${SERVICE}/TellJokeStream`, joke('midstream'), { 'grpc-timeout': '150m', 'x-request-id': requestId });
    assertDeadlineExceeded(response, 'TellJokeStream 150m');
    assert.ok(response.messages.length >= 1, 'chunks before the deadline arrived');
    assert.ok(!response.messages.some((m) => TellJokeStreamResponse.decode(m).result), 'no result after the deadline');
    assert.ok(response.elapsedMs >= 140 && response.elapsedMs < 400, `ended ${Math.round(response.elapsedMs)} ms after the call started`);
    assert.equal((await accessLine(server, requestId)).status, 'DEADLINE_EXCEEDED');
  });

  it('ends a unary call whose deadline passes while the model runs', async () => {
    const { server, session } = fixture();
    const requestId = 'deadline-unary-slow';
    const response = await rawCall(session, `${SERVICE}/TellJoke`, joke('slow'), { 'grpc-timeout': '30m', 'x-request-id': requestId });
    assertDeadlineExceeded(response, 'TellJoke 30m');
    assert.ok(response.elapsedMs < 300, `ended after ${Math.round(response.elapsedMs)} ms`);
    assert.equal((await accessLine(server, requestId)).status, 'DEADLINE_EXCEEDED');
  });
});
