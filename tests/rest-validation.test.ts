import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './support/test-server.js';

/** Every documented input constraint, as data: flow, input, the field the error must name. */
const INVALID_INPUTS: { flow: string; data: unknown; field: string; why: string }[] = [
  { flow: 'tellJoke', data: { name: 'x'.repeat(201) }, field: 'name', why: 'a 201-char name' },
  { flow: 'tellJoke', data: { name: 42 }, field: 'name', why: 'a number for name' },
  { flow: 'tellJoke', data: { username: 'u'.repeat(201) }, field: 'username', why: 'a 201-char username' },
  { flow: 'tellStory', data: { topic: '' }, field: 'topic', why: 'an empty topic' },
  { flow: 'tellStory', data: { topic: 't'.repeat(1001) }, field: 'topic', why: 'a 1001-char topic' },
  { flow: 'translateText', data: { text: '' }, field: 'text', why: 'empty text' },
  { flow: 'translateText', data: { text: 't'.repeat(10001) }, field: 'text', why: '10001 chars of text' },
  { flow: 'translateText', data: { targetLanguage: 'l'.repeat(101) }, field: 'targetLanguage', why: 'a 101-char language' },
  { flow: 'describeImage', data: { imageUrl: 'not a url' }, field: 'imageUrl', why: 'a non-URL' },
  { flow: 'describeImage', data: { imageUrl: `https://example.com/${'a'.repeat(2040)}` }, field: 'imageUrl', why: 'a 2060-char URL' },
  { flow: 'generateCharacter', data: { name: '' }, field: 'name', why: 'an empty name' },
  { flow: 'generateCharacter', data: { name: 'n'.repeat(201) }, field: 'name', why: 'a 201-char name' },
  { flow: 'pirateChat', data: { question: '' }, field: 'question', why: 'an empty question' },
  { flow: 'pirateChat', data: { question: 'q'.repeat(5001) }, field: 'question', why: 'a 5001-char question' },
  { flow: 'generateCode', data: {}, field: 'description', why: 'a missing description' },
  { flow: 'generateCode', data: { description: 'd'.repeat(10001) }, field: 'description', why: 'a 10001-char description' },
  { flow: 'generateCode', data: { description: 'x', language: 'py thon' }, field: 'language', why: 'a language with a space' },
  { flow: 'generateCode', data: { description: 'x', language: 'rust!' }, field: 'language', why: 'a language with "!"' },
  { flow: 'generateCode', data: { description: 'x', language: 'a'.repeat(51) }, field: 'language', why: 'a 51-char language' },
  { flow: 'reviewCode', data: {}, field: 'code', why: 'missing code' },
  { flow: 'reviewCode', data: { code: '' }, field: 'code', why: 'empty code' },
  { flow: 'reviewCode', data: { code: 'c'.repeat(50001) }, field: 'code', why: '50001 chars of code' },
  { flow: 'reviewCode', data: { code: 'x', language: 'l'.repeat(51) }, field: 'language', why: 'a 51-char language' },
  { flow: 'tellJoke', data: 'Mittens', field: 'data', why: 'a string instead of an object' },
];

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
    assert.deepEqual(JSON.parse(res.text), { status: 'INVALID_ARGUMENT', message: 'Malformed JSON in the request body.' });
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
    });
  });

  it('answers an unknown path with a JSON 404', async () => {
    const res = await postRaw(`${server.baseUrl}/noSuchFlow`, '{}', { 'content-type': 'application/json' });
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.text), { status: 'NOT_FOUND', message: 'No flow at POST /noSuchFlow.' });
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
