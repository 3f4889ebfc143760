import assert from 'node:assert/strict';
import { credentials, makeGenericClientConstructor, status, type ServiceError } from '@grpc/grpc-js';
import { describe, it } from 'node:test';
import type { FlowServiceClient } from '../generated/ts/genkit/flows/v1/flows.js';
import { INVALID_INPUTS } from './support/invalid-inputs.js';
import { callStream, callUnary, collect, useServerWithClient } from './support/grpc-client.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const isStatus = (code: status, details?: RegExp) => (e: unknown) => {
  const error = e as ServiceError;
  assert.equal(error.code, code, `status ${error.code} (${error.details})`);
  if (details) assert.match(error.details, details);
  assert.doesNotMatch(error.details, /\n\s+at |node_modules|\/work\//);
  return true;
};

/** A raw client that sends bytes we choose, to reach paths the typed client cannot. */
function rawCall(port: number, path: string, bytes: Buffer): Promise<Buffer> {
  const Raw = makeGenericClientConstructor(
    {
      call: {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    'Raw',
  );
  const client = new Raw(`127.0.0.1:${port}`, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    (client as unknown as { call: (b: Buffer, cb: (e: ServiceError | null, r?: Buffer) => void) => void }).call(bytes, (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r!);
    });
  });
}

describe('gRPC errors and limits', () => {
  let server: TestServer;
  let client: FlowServiceClient;
  useServerWithClient(
    () => startTestServer(),
    (s, c) => ((server = s), (client = c)),
  );

  for (const testCase of INVALID_INPUTS.filter((c) => !c.restOnly)) {
    it(`rejects ${testCase.why} for ${testCase.flow} with INVALID_ARGUMENT naming "${testCase.field}"`, async () => {
      await assert.rejects(
        callUnary(client, testCase.flow, testCase.data as object),
        isStatus(status.INVALID_ARGUMENT, new RegExp(`Invalid input: .*\\b${testCase.field}\\b`)),
      );
    });
  }

  it('rejects invalid input on a streaming RPC before any message is sent', async () => {
    const messages: unknown[] = [];
    const stream = callStream(client, 'tellJokeStream', { name: 'x'.repeat(201) });
    stream.on('data', (m) => messages.push(m));
    await assert.rejects(collect(stream), isStatus(status.INVALID_ARGUMENT, /name/));
    assert.deepEqual(messages, []);
  });

  it('answers an unknown method with UNIMPLEMENTED', async () => {
    await assert.rejects(rawCall(server.grpcPort!, '/genkit.flows.v1.FlowService/NoSuchFlow', Buffer.alloc(0)), isStatus(status.UNIMPLEMENTED));
  });

  it('answers undecodable request bytes with INVALID_ARGUMENT', async () => {
    // Field 1, wire type 2 (length-delimited), length 100, but only 2 bytes follow.
    const truncated = Buffer.from([0x0a, 0x64, 0x41, 0x42]);
    await assert.rejects(
      rawCall(server.grpcPort!, '/genkit.flows.v1.FlowService/TellJoke', truncated),
      isStatus(status.INVALID_ARGUMENT, /not a valid TellJokeRequest message/),
    );
  });

  it('answers a message over MAX_BODY_SIZE with RESOURCE_EXHAUSTED', async () => {
    await assert.rejects(callUnary(client, 'reviewCode', { code: 'x'.repeat(2 * 1024 * 1024) }), isStatus(status.RESOURCE_EXHAUSTED));
  });

  it('keeps serving after every rejection', async () => {
    const response = (await callUnary(client, 'tellJoke', { name: 'Ada' })) as { joke: string };
    assert.match(response.joke, /Ada/);
  });
});

describe('gRPC deadlines and cancellation (slow offline model)', () => {
  let client: FlowServiceClient;
  useServerWithClient(
    () => startTestServer({ OFFLINE_MODEL_LATENCY_MS: '300' }),
    (_server, c) => (client = c),
  );

  it('ends a call whose deadline expires with DEADLINE_EXCEEDED', async () => {
    const started = Date.now();
    await assert.rejects(callUnary(client, 'pirateChat', {}, { deadlineMs: 100 }), isStatus(status.DEADLINE_EXCEEDED));
    assert.ok(Date.now() - started < 290, 'did not wait for the model');
  });

  it('ends a stream whose deadline expires with DEADLINE_EXCEEDED', async () => {
    await assert.rejects(collect(callStream(client, 'tellStoryStream', {}, { deadlineMs: 150 })), isStatus(status.DEADLINE_EXCEEDED));
  });

  it('lets a cancelled stream end with CANCELLED', async () => {
    const stream = callStream(client, 'tellJokeStream', {});
    setTimeout(() => stream.cancel(), 50);
    await assert.rejects(collect(stream), isStatus(status.CANCELLED));
  });

  it('still serves a call with a generous deadline', async () => {
    const response = (await callUnary(client, 'tellJoke', {}, { deadlineMs: 5000 })) as { joke: string };
    assert.match(response.joke, /Mittens/);
  });
});
