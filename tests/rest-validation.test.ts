import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INVALID_INPUTS } from './support/invalid-inputs.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** A JSON error body must not leak a stack trace or a file path. */
function assertCleanError(text: string): void {
  assert.doesNotMatch(text, /\n\s+at |node_modules|\/work\/|\.ts:\d+|<html|<pre>/i);
}

async function postRaw(url: string, body: string | undefined, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', body, headers });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
}

describe('REST input validation', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  for (const testCase of INVALID_INPUTS) {
    for (const streaming of [false, true]) {
      it(`rejects ${testCase.why} for ${testCase.flow} with 400 INVALID_ARGUMENT naming "${testCase.field}"${streaming ? ' before any stream starts' : ''}`, async () => {
        const res = await postRaw(
          `${server.baseUrl}/${testCase.flow}${streaming ? '?stream=true' : ''}`,
          JSON.stringify({ data: testCase.data }),
          { 'content-type': 'application/json' },
        );
        assert.equal(res.status, 400);
        assert.match(res.contentType, /^application\/json/);
        assertCleanError(res.text);
        const body = JSON.parse(res.text) as { status: string; message: string; details: { fields: { path: string }[] } };
        assert.equal(body.status, 'INVALID_ARGUMENT');
        assert.match(body.message, new RegExp(`\\b${testCase.field}\\b`));
        assert.ok(body.details.fields.some((f) => (f.path || 'data') === testCase.field), JSON.stringify(body.details));
      });
    }
  }

  it('rejects malformed JSON with a JSON 400, not express\'s HTML page', async () => {
    const res = await postRaw(`${server.baseUrl}/tellJoke`, '{"data": {"name": ', { 'content-type': 'application/json' });
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.text), {
      status: 'INVALID_ARGUMENT',
      message: 'Malformed JSON in the request body.',
      details: { errorInfo: { reason: 'MALFORMED_REQUEST', domain: 'genkit-flow-gateway' } },
    });
  });

  it('rejects a missing body with 400 INVALID_ARGUMENT', async () => {
    const res = await postRaw(`${server.baseUrl}/tellJoke`, undefined);
    assert.equal(res.status, 400);
    const body = JSON.parse(res.text) as { status: string; message: string };
    assert.equal(body.status, 'INVALID_ARGUMENT');
    assert.match(body.message, /JSON object \{"data"/);
  });

  it('rejects a body that is not JSON (text/plain) with 400 INVALID_ARGUMENT', async () => {
    const res = await postRaw(`${server.baseUrl}/tellJoke`, 'name=Ada', { 'content-type': 'text/plain' });
    assert.equal(res.status, 400);
    assert.equal((JSON.parse(res.text) as { status: string }).status, 'INVALID_ARGUMENT');
  });

  it('rejects a JSON array body with 400 INVALID_ARGUMENT', async () => {
    const res = await postRaw(`${server.baseUrl}/tellJoke`, '[1,2]', { 'content-type': 'application/json' });
    assert.equal(res.status, 400);
    assert.equal((JSON.parse(res.text) as { status: string }).status, 'INVALID_ARGUMENT');
  });

  it('rejects a 2 MB body with 413 and a JSON error (MAX_BODY_SIZE defaults to 1 MiB)', async () => {
    const res = await postRaw(`${server.baseUrl}/reviewCode`, JSON.stringify({ data: { code: 'x'.repeat(2 * 1024 * 1024) } }), {
      'content-type': 'application/json',
    });
    assert.equal(res.status, 413);
    assert.deepEqual(JSON.parse(res.text), {
      status: 'RESOURCE_EXHAUSTED',
      message: 'Request body exceeds the limit of 1048576 bytes.',
      details: { errorInfo: { reason: 'REQUEST_TOO_LARGE', domain: 'genkit-flow-gateway' } },
    });
  });

  it('answers an unknown path with a JSON 404', async () => {
    const res = await postRaw(`${server.baseUrl}/noSuchFlow`, '{}', { 'content-type': 'application/json' });
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.text), {
      status: 'NOT_FOUND',
      message: 'No flow at POST /noSuchFlow.',
      details: { errorInfo: { reason: 'NOT_FOUND', domain: 'genkit-flow-gateway' } },
    });
  });

  it('keeps serving after every rejection', async () => {
    const res = await fetch(`${server.baseUrl}/tellJoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { name: 'Ada' } }),
    });
    assert.equal(res.status, 200);
    assert.match(((await res.json()) as { result: { joke: string } }).result.joke, /Ada/);
  });
});
