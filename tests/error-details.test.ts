import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { GenkitError } from 'genkit';
import type { ClientHttp2Session } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { FlowServiceClient } from '../generated/ts/genkit/flows/v1/flows.js';
import { TellJokeResponse } from '../generated/ts/genkit/flows/v1/flows.js';
import { BadRequest, ErrorInfo, RetryInfo } from '../generated/ts/google/rpc/error_details.js';
import { Status } from '../generated/ts/google/rpc/status.js';
import { grpcStatusOf, protoFieldPath, STATUS_DETAILS_KEY } from '../grpc/error-status.js';
import { ERROR_DOMAIN } from '../server/error-details.js';
import { callUnary, useServerWithClient } from './support/grpc-client.js';
import { rawCall, rawSession } from './support/raw-h2.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/**
 * AIP-193 errors: gRPC sends google.rpc.Status in grpc-status-details-bin
 * (decoded here with the generated google.rpc types, as a client would),
 * REST the same facts in the `details` of Genkit's error body.
 */

interface DecodedStatus {
  code: number;
  message: string;
  errorInfo?: ErrorInfo;
  badRequest?: BadRequest;
  retryInfo?: RetryInfo;
  typeUrls: string[];
}

function decodeStatusDetails(bytes: Buffer | Uint8Array): DecodedStatus {
  const decoded = Status.decode(bytes);
  const out: DecodedStatus = { code: decoded.code, message: decoded.message, typeUrls: decoded.details.map((d) => d.typeUrl) };
  for (const any of decoded.details) {
    if (any.typeUrl === 'type.googleapis.com/google.rpc.ErrorInfo') out.errorInfo = ErrorInfo.decode(any.value);
    if (any.typeUrl === 'type.googleapis.com/google.rpc.BadRequest') out.badRequest = BadRequest.decode(any.value);
    if (any.typeUrl === 'type.googleapis.com/google.rpc.RetryInfo') out.retryInfo = RetryInfo.decode(any.value);
  }
  return out;
}

function grpcError(e: unknown): { error: ServiceError; status: DecodedStatus } {
  const error = e as ServiceError;
  const bin = error.metadata?.get(STATUS_DETAILS_KEY)[0];
  assert.ok(Buffer.isBuffer(bin), `the error carries ${STATUS_DETAILS_KEY}`);
  const decoded = decodeStatusDetails(bin);
  assert.equal(decoded.code, error.code, 'Status.code is the call status');
  assert.equal(decoded.message, error.details, 'Status.message is the status message');
  return { error, status: decoded };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e: unknown) {
    return e;
  }
  throw new Error('expected the call to fail');
}

interface RestError {
  status: string;
  message: string;
  details: {
    fields?: { path: string; message: string }[];
    errorInfo: { reason: string; domain: string };
    badRequest?: { fieldViolations: { field: string; description: string }[] };
    retryInfo?: { retryDelay: string };
  };
}

async function restError(server: TestServer, flow: string, data: unknown, headers: Record<string, string> = {}): Promise<{ http: number; body: RestError }> {
  const res = await fetch(`${server.baseUrl}/${flow}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ data }),
  });
  return { http: res.status, body: (await res.json()) as RestError };
}

describe('AIP-193 error details: INVALID_ARGUMENT on both surfaces', () => {
  let server: TestServer;
  let client: FlowServiceClient;
  useServerWithClient(
    () => startTestServer(),
    (s, c) => ((server = s), (client = c)),
  );

  const CASES = [
    { flow: 'translateText', data: { text: 'hi', targetLanguage: 'l'.repeat(101) }, protoField: 'target_language', jsonField: 'targetLanguage' },
    { flow: 'describeImage', data: { imageUrl: 'not a url' }, protoField: 'image_url', jsonField: 'imageUrl' },
    { flow: 'generateCode', data: { description: 'x', language: 'py thon' }, protoField: 'language', jsonField: 'language' },
  ];
  for (const testCase of CASES) {
    it(`${testCase.flow}: BadRequest names ${testCase.protoField} (gRPC) / ${testCase.jsonField} (REST), with the same ErrorInfo`, async () => {
      const { error, status: grpc } = grpcError(await rejection(callUnary(client, testCase.flow, testCase.data)));
      assert.equal(error.code, status.INVALID_ARGUMENT);
      assert.deepEqual(grpc.typeUrls, ['type.googleapis.com/google.rpc.ErrorInfo', 'type.googleapis.com/google.rpc.BadRequest']);
      assert.equal(grpc.errorInfo?.reason, 'INVALID_INPUT');
      assert.equal(grpc.errorInfo?.domain, ERROR_DOMAIN);
      const grpcViolations = grpc.badRequest?.fieldViolations ?? [];
      assert.deepEqual(
        grpcViolations.map((v) => v.field),
        [testCase.protoField],
      );

      const rest = await restError(server, testCase.flow, testCase.data);
      assert.equal(rest.http, 400);
      assert.deepEqual(rest.body.details.errorInfo, { reason: grpc.errorInfo?.reason, domain: grpc.errorInfo?.domain });
      const restViolations = rest.body.details.badRequest?.fieldViolations ?? [];
      assert.deepEqual(
        restViolations.map((v) => v.field),
        [testCase.jsonField],
      );
      // The same facts: each REST violation, in proto names, is the gRPC one.
      assert.deepEqual(
        restViolations.map((v) => ({ field: protoFieldPath(v.field), description: v.description })),
        grpcViolations.map((v) => ({ field: v.field, description: v.description })),
      );
      assert.equal(rest.body.message, error.details, 'the same message on both surfaces');
    });
  }

  for (const [flow, field] of [
    ['generateCode', 'description'],
    ['reviewCode', 'code'],
  ] as const) {
    it(`${flow}: a required ${field} left out reads the same on both surfaces ("${field}: Required")`, async () => {
      const { error, status: grpc } = grpcError(await rejection(callUnary(client, flow, {})));
      const rest = await restError(server, flow, {});
      assert.equal(error.details, `Invalid input: ${field}: Required`);
      assert.equal(rest.body.message, error.details);
      assert.deepEqual(grpc.badRequest?.fieldViolations, [{ field, description: 'Required' }]);
      assert.deepEqual(rest.body.details.badRequest?.fieldViolations, [{ field, description: 'Required' }]);
      // The older `fields` list stays in REST's details for existing clients.
      assert.deepEqual(rest.body.details.fields, [{ path: field, message: 'Required' }]);
    });
  }

  it('REST: malformed JSON and a wrong body shape carry ErrorInfo MALFORMED_REQUEST', async () => {
    const malformed = await fetch(`${server.baseUrl}/tellJoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"data": ' });
    assert.equal(malformed.status, 400);
    assert.deepEqual(((await malformed.json()) as RestError).details.errorInfo, { reason: 'MALFORMED_REQUEST', domain: ERROR_DOMAIN });
    const shape = await fetch(`${server.baseUrl}/tellJoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1]' });
    assert.equal(((await shape.json()) as RestError).details.errorInfo.reason, 'MALFORMED_REQUEST');
  });
});

describe('gRPC strings must be valid UTF-8 (raw HTTP/2 client)', () => {
  let server: TestServer;
  let session: ClientHttp2Session;
  before(async () => {
    server = await startTestServer();
    session = rawSession(server.grpcPort!);
  });
  after(async () => {
    session.close();
    await server.close();
  });
  // TellJokeRequest: field 1 `name` (string), field 2 `username` (string).
  const stringField = (fieldNumber: number, bytes: number[]) => [(fieldNumber << 3) | 2, bytes.length, ...bytes];

  for (const [why, bytes] of [
    ['a lone continuation byte', [0x41, 0x80, 0x42]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['a UTF-16 surrogate encoded in UTF-8', [0xed, 0xa0, 0x80]],
    ['a truncated 3-byte sequence', [0xe6, 0x97]],
  ] as const) {
    it(`rejects ${why} in username with INVALID_ARGUMENT naming the field`, async () => {
      const payload = Uint8Array.from([...stringField(1, [0x41, 0x64, 0x61]), ...stringField(2, [...bytes])]);
      const response = await rawCall(session, '/genkit.flows.v1.FlowService/TellJoke', payload);
      assert.equal(response.status, status.INVALID_ARGUMENT, String(response.trailers['grpc-message']));
      assert.equal(response.messages.length, 0);
      const details = decodeStatusDetails(Buffer.from(String(response.trailers[STATUS_DETAILS_KEY]), 'base64'));
      assert.deepEqual(details.badRequest?.fieldViolations, [{ field: 'username', description: 'must be valid UTF-8' }]);
      assert.equal(details.errorInfo?.reason, 'INVALID_INPUT');
    });
  }

  it('accepts valid non-ASCII text (and a real U+FFFD) unchanged', async () => {
    for (const name of ['Zoë', '日本語', 'emoji 🐈', 'replacement \uFFFD char']) {
      const payload = Uint8Array.from(stringField(1, [...Buffer.from(name, 'utf8')]));
      const response = await rawCall(session, '/genkit.flows.v1.FlowService/TellJoke', payload);
      assert.equal(response.status, 0, String(response.trailers['grpc-message']));
      assert.ok(TellJokeResponse.decode(response.messages[0]!).joke.includes(name), `the joke names ${name}`);
    }
  });

});

describe('AIP-193 error details: RESOURCE_EXHAUSTED, UNAUTHENTICATED (RATE_LIMIT=6/minute, API_KEYS)', () => {
  let server: TestServer;
  let client: FlowServiceClient;
  const KEY = 'secret-key-aip193';
  useServerWithClient(
    () => startTestServer({ RATE_LIMIT: '6/minute', API_KEYS: `alice:${KEY}` }),
    (s, c) => ((server = s), (client = c)),
  );

  it('UNAUTHENTICATED carries ErrorInfo API_KEY_MISSING / API_KEY_INVALID on both surfaces', async () => {
    const missing = grpcError(await rejection(callUnary(client, 'tellJoke', {})));
    assert.equal(missing.error.code, status.UNAUTHENTICATED);
    assert.equal(missing.status.errorInfo?.reason, 'API_KEY_MISSING');
    const rest = await restError(server, 'tellJoke', {});
    assert.equal(rest.http, 401);
    assert.deepEqual(rest.body.details.errorInfo, { reason: 'API_KEY_MISSING', domain: ERROR_DOMAIN });
    const wrong = { authorization: 'Bearer not-the-key' };
    assert.equal(grpcError(await rejection(callUnary(client, 'tellJoke', {}, { metadata: wrong }))).status.errorInfo?.reason, 'API_KEY_INVALID');
    assert.equal((await restError(server, 'tellJoke', {}, wrong)).body.details.errorInfo.reason, 'API_KEY_INVALID');
    // 4 of the 6 calls are spent now.
  });

  it('RESOURCE_EXHAUSTED carries RetryInfo and ErrorInfo RATE_LIMITED, the same delay on both surfaces', async () => {
    const auth = { authorization: `Bearer ${KEY}` };
    await callUnary(client, 'tellJoke', {}, { metadata: auth });
    await callUnary(client, 'tellJoke', {}, { metadata: auth });
    const limited = grpcError(await rejection(callUnary(client, 'tellJoke', {}, { metadata: auth })));
    assert.equal(limited.error.code, status.RESOURCE_EXHAUSTED);
    assert.equal(limited.status.errorInfo?.reason, 'RATE_LIMITED');
    const seconds = Number(limited.status.retryInfo?.retryDelay?.seconds);
    assert.ok(seconds >= 1 && seconds <= 60, `retry delay ${seconds} s`);
    assert.equal(String(limited.error.metadata.get('retry-after')[0]), String(seconds));

    const rest = await restError(server, 'tellJoke', {}, auth);
    assert.equal(rest.http, 429);
    assert.deepEqual(rest.body.details.errorInfo, { reason: 'RATE_LIMITED', domain: ERROR_DOMAIN });
    const restSeconds = Number(/^(\d+)s$/.exec(rest.body.details.retryInfo?.retryDelay ?? '')?.[1]);
    assert.ok(Math.abs(restSeconds - seconds) <= 1, `REST ${restSeconds} s vs gRPC ${seconds} s`);
  });
});

describe('AIP-193 error details: the mapping itself', () => {
  it('UNAVAILABLE (model circuit open) carries RetryInfo with its delay and ErrorInfo MODEL_UNAVAILABLE', () => {
    const status = grpcStatusOf(new GenkitError({ status: 'UNAVAILABLE', message: 'circuit open', detail: { retryAfterSeconds: 7, reason: 'MODEL_UNAVAILABLE' } }));
    const decoded = decodeStatusDetails(status.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer);
    assert.equal(decoded.errorInfo?.reason, 'MODEL_UNAVAILABLE');
    assert.equal(decoded.retryInfo?.retryDelay?.seconds, 7n);
  });

  it('an error without a known reason gets its status name; a too-large request gets no RetryInfo', () => {
    const internal = decodeStatusDetails(grpcStatusOf(new GenkitError({ status: 'INTERNAL', message: 'x' })).metadata.get(STATUS_DETAILS_KEY)[0] as Buffer);
    assert.equal(internal.errorInfo?.reason, 'INTERNAL');
    assert.deepEqual(internal.typeUrls, ['type.googleapis.com/google.rpc.ErrorInfo']);
    const tooLarge = decodeStatusDetails(
      grpcStatusOf(new GenkitError({ status: 'RESOURCE_EXHAUSTED', message: 'x', detail: { reason: 'REQUEST_TOO_LARGE' } })).metadata.get(STATUS_DETAILS_KEY)[0] as Buffer,
    );
    assert.equal(tooLarge.retryInfo, undefined);
  });

  it('renders JSON field paths in proto names, leaving indices and map keys alone', () => {
    assert.equal(protoFieldPath('targetLanguage'), 'target_language');
    assert.equal(protoFieldPath('items[3].backStory'), 'items[3].back_story');
    assert.equal(protoFieldPath('labels["someKey"].imageUrl'), 'labels["someKey"].image_url');
    assert.equal(protoFieldPath(''), '');
  });
});
