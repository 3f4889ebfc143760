import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { runFlow, streamFlow } from 'genkit/beta/client';
import type { FlowServiceClient } from '../generated/ts/genkit/flows/v1/flows.js';
import { GeminiWireServer } from './support/gemini-wire-server.js';
import { callStream, callUnary, collect, flowClient } from './support/grpc-client.js';
import { startTestServer, type TestServer } from './support/test-server.js';
import { until } from './support/until.js';

/**
 * The Gemini path: the real @genkit-ai/google-genai plugin, pointed through
 * GEMINI_BASE_URL at a local server that speaks the Gemini REST wire format.
 */

const API_KEY = 'test-gemini-key-123';

describe('flows on the Gemini path (real google-genai plugin, local Gemini-wire server)', () => {
  let gemini: GeminiWireServer;
  let server: TestServer;
  let client: FlowServiceClient;
  before(async () => {
    gemini = await GeminiWireServer.start();
    server = await startTestServer({ GEMINI_API_KEY: API_KEY, GEMINI_BASE_URL: gemini.baseUrl });
    client = flowClient(server.grpcPort!);
  });
  afterEach(() => gemini.reset());
  after(async () => {
    client.close();
    await server.close();
    await gemini.close();
  });

  const userText = (i = 0) =>
    gemini.requests[i]!.body.contents.filter((c) => c.role === 'user').flatMap((c) => c.parts.map((p) => p.text ?? '')).join('');

  it('selects Gemini when a key is set, and says so in /health', async () => {
    const { eventLoop, ...health } = (await (await fetch(`${server.baseUrl}/health`)).json()) as Record<string, unknown>;
    assert.deepEqual(health, { status: 'ok', model: 'googleai/gemini-2.5-flash', offline: false, flows: 8, circuit: 'CLOSED', workers: { serving: 1, configured: 1 } });
    assert.equal(typeof (eventLoop as { p99Ms: number }).p99Ms, 'number');
  });

  it('describeImage: sends the prompt and the image to generateContent with the API key', async () => {
    gemini.respondInOrder({ text: 'A red square on white.' });
    const result = await runFlow({ url: `${server.baseUrl}/describeImage`, input: { imageUrl: 'https://images.example/red.png' } });
    assert.deepEqual(result, { description: 'A red square on white.', imageUrl: 'https://images.example/red.png' });
    assert.equal(gemini.requests.length, 1);
    const sent = gemini.requests[0]!;
    assert.equal(sent.method, 'generateContent');
    assert.equal(sent.model, 'gemini-2.5-flash');
    assert.equal(sent.headers['x-goog-api-key'], API_KEY);
    assert.match(userText(), /Describe this image/);
    const media = sent.body.contents[0]!.parts.find((p) => p.fileData || p.inlineData);
    assert.ok(media, `an image part was sent: ${JSON.stringify(sent.body.contents)}`);
  });

  it('pirateChat: the system prompt goes out as systemInstruction', async () => {
    gemini.respondInOrder({ text: 'Arr, TypeScript it be!' });
    const result = await runFlow({ url: `${server.baseUrl}/pirateChat`, input: { question: 'Best language?' } });
    assert.deepEqual(result, { answer: 'Arr, TypeScript it be!', persona: 'pirate captain' });
    const system = gemini.requests[0]!.body.systemInstruction?.parts.map((p) => p.text).join('') ?? '';
    assert.match(system, /^You are a pirate captain/);
    assert.equal(userText(), 'Best language?');
  });

  it('tellJoke streaming: the plugin streams over SSE and every chunk reaches the REST client in order', async () => {
    gemini.respondInOrder({ text: ['Why did Ada ', 'write a proof? ', 'Because she could.'] });
    const { stream, output } = streamFlow({ url: `${server.baseUrl}/tellJoke`, input: { name: 'Ada' } });
    const chunks: string[] = [];
    for await (const chunk of stream) chunks.push(chunk as string);
    assert.deepEqual(chunks, ['Why did Ada ', 'write a proof? ', 'Because she could.']);
    assert.deepEqual(await output, { joke: 'Why did Ada write a proof? Because she could.' });
    const sent = gemini.requests[0]!;
    assert.equal(sent.method, 'streamGenerateContent');
    assert.equal(sent.query.get('alt'), 'sse');
    assert.match(userText(), /joke about Ada/);
  });

  it('tellStory streaming: paragraphs split across SSE events arrive as one chunk per paragraph (REST and gRPC)', async () => {
    const events = ['First para', 'graph.\n\nSecond ', 'paragraph.\n\nThird paragraph.'];
    gemini.respondWith(() => ({ text: events }));
    const { stream, output } = streamFlow({ url: `${server.baseUrl}/tellStory`, input: { topic: 'owls' } });
    const chunks: string[] = [];
    for await (const chunk of stream) chunks.push(chunk as string);
    assert.deepEqual(chunks, ['First paragraph.', 'Second paragraph.', 'Third paragraph.']);
    assert.deepEqual(await output, { story: 'First paragraph.\n\nSecond paragraph.\n\nThird paragraph.' });

    const messages = (await collect(callStream(client, 'tellStoryStream', { topic: 'owls' }))) as { chunk?: string; result?: unknown }[];
    assert.deepEqual(
      messages.map((m) => m.chunk ?? m.result),
      ['First paragraph.', 'Second paragraph.', 'Third paragraph.', { story: 'First paragraph.\n\nSecond paragraph.\n\nThird paragraph.' }],
    );
  });

  it('translateText: declares the tool, runs it when Gemini asks, sends its result back, then returns structured output', async () => {
    gemini.respondInOrder(
      { functionCall: { name: 'getCurrentTime', args: {} } },
      { json: { translatedText: 'Bonjour', confidence: 'high' } },
    );
    const result = await runFlow({ url: `${server.baseUrl}/translateText`, input: { text: ' Hello ', targetLanguage: 'French' } });
    assert.deepEqual(result, { originalText: 'Hello', translatedText: 'Bonjour', targetLanguage: 'French', confidence: 'high' });

    assert.equal(gemini.requests.length, 2);
    const [first, second] = gemini.requests;
    const declared = first!.body.tools?.flatMap((t) => t.functionDeclarations ?? []).map((d) => d.name);
    assert.deepEqual(declared, ['getCurrentTime']);
    assert.equal(first!.body.generationConfig?.responseMimeType, 'application/json');
    assert.ok(first!.body.generationConfig?.responseJsonSchema ?? first!.body.generationConfig?.responseSchema, 'a response schema was sent');
    const functionResponse = second!.body.contents.flatMap((c) => c.parts).find((p) => p.functionResponse) as
      | { functionResponse: { name: string; response: { content?: { utc?: string }; utc?: string } } }
      | undefined;
    assert.ok(functionResponse, 'the second request carries the tool result');
    assert.equal(functionResponse.functionResponse.name, 'getCurrentTime');
    const utc = functionResponse.functionResponse.response.content?.utc ?? functionResponse.functionResponse.response.utc;
    assert.match(String(utc), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('generateCharacter: asks for JSON with a schema and returns the structured answer (name from the input)', async () => {
    const character = {
      name: 'Someone else',
      backStory: 'Raised by owls.',
      abilities: ['night vision', 'silent flight'],
      skills: { strength: 40, charisma: 75, endurance: 60 },
    };
    gemini.respondInOrder({ json: character });
    const result = await runFlow({ url: `${server.baseUrl}/generateCharacter`, input: { name: 'Luna' } });
    assert.deepEqual(result, { ...character, name: 'Luna' });
    const config = gemini.requests[0]!.body.generationConfig ?? {};
    assert.equal(config.responseMimeType, 'application/json');
    const schema = JSON.stringify(config.responseJsonSchema ?? config.responseSchema);
    assert.match(schema, /backStory/);
    assert.match(schema, /endurance/);
  });

  it('reviewCode: the Dotprompt renders its system and user messages for Gemini', async () => {
    gemini.respondInOrder({ json: { summary: 'Fine.', issues: [], score: 8, language: 'python' } });
    const result = await runFlow({ url: `${server.baseUrl}/reviewCode`, input: { code: 'print(1)', language: 'python' } });
    assert.deepEqual(result, { summary: 'Fine.', issues: [], score: 8, language: 'python' });
    assert.match(gemini.requests[0]!.body.systemInstruction?.parts.map((p) => p.text).join('') ?? '', /senior code reviewer/);
    assert.match(userText(), /Review the following python code[\s\S]*print\(1\)/);
  });

  it('an upstream 400 reaches REST as 400 INVALID_ARGUMENT and gRPC as INVALID_ARGUMENT, without a stack', async () => {
    gemini.respondWith(() => ({ status: 400, message: 'Request contains an invalid argument.' }));
    const res = await fetch(`${server.baseUrl}/pirateChat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: {} }),
    });
    const body = (await res.json()) as { status: string; message: string };
    assert.equal(res.status, 400);
    assert.equal(body.status, 'INVALID_ARGUMENT');
    assert.doesNotMatch(JSON.stringify(body), /\n\s+at |node_modules/);
    await assert.rejects(callUnary(client, 'pirateChat', {}), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
  });

  it('never puts the API key in a response or a log line', () => {
    for (const line of server.logs.raw) assert.ok(!line.includes(API_KEY), line);
  });
});

describe('cancellation reaches the Gemini request', () => {
  let gemini: GeminiWireServer;
  let server: TestServer;
  let client: FlowServiceClient;
  before(async () => {
    gemini = await GeminiWireServer.start();
    gemini.respondWith(() => ({ hang: true }));
    server = await startTestServer({ GEMINI_API_KEY: API_KEY, GEMINI_BASE_URL: gemini.baseUrl });
    client = flowClient(server.grpcPort!);
  });
  after(async () => {
    client.close();
    await server.close();
    await gemini.close();
  });

  it('a gRPC deadline ends the call with DEADLINE_EXCEEDED and closes the upstream request', async () => {
    const call = callUnary(client, 'pirateChat', {}, { deadlineMs: 300 });
    await assert.rejects(call, (e: ServiceError) => e.code === status.DEADLINE_EXCEEDED);
    const upstream = gemini.requests.at(-1)!;
    await within(upstream.closed, 'the upstream request to close at the deadline');
    assert.equal(upstream.answered, false);
  });

  it('a cancelled gRPC stream keeps its flow (resumable); an explicit cancel closes the upstream request', async () => {
    const before = gemini.requests.length;
    const stream = callStream(client, 'tellJokeStream', {});
    stream.on('error', () => undefined);
    const streamId = new Promise<string>((resolve) => stream.once('metadata', (m: Metadata) => resolve(String(m.get('x-genkit-stream-id')[0]))));
    await untilMoreRequests(gemini, before);
    stream.cancel();
    const upstream = gemini.requests.at(-1)!;
    const closedEarly = await Promise.race([upstream.closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 300))]);
    assert.equal(closedEarly, false, 'a client leaving does not stop a durable stream');
    const cancel = await fetch(`${server.baseUrl}/tellJoke`, { method: 'DELETE', headers: { 'x-genkit-stream-id': await within(streamId, 'the stream id in the response metadata') } });
    assert.equal(cancel.status, 204);
    await within(upstream.closed, 'the upstream request to close after the DELETE');
    assert.equal(gemini.requests.length, before + 1, 'nothing was retried');
  });

  it('a REST client that disconnects mid-request closes the upstream request', async () => {
    const before = gemini.requests.length;
    const controller = new AbortController();
    const pending = fetch(`${server.baseUrl}/tellJoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: {} }),
      signal: controller.signal,
    }).then((res) => res.text());
    await untilMoreRequests(gemini, before);
    controller.abort();
    await assert.rejects(pending);
    await within(gemini.requests.at(-1)!.closed, 'the upstream request to close after the client left');
    assert.equal(gemini.requests.length, before + 1, 'nothing was retried');
  });

  it('a REST stream outlives its client; DELETE with its x-genkit-stream-id closes the upstream request', async () => {
    const before = gemini.requests.length;
    const controller = new AbortController();
    const res = await fetch(`${server.baseUrl}/tellJoke?stream=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: {} }),
      signal: controller.signal,
    });
    const streamId = res.headers.get('x-genkit-stream-id');
    assert.ok(streamId);
    await untilMoreRequests(gemini, before);
    controller.abort();
    const upstream = gemini.requests.at(-1)!;
    const closedEarly = await Promise.race([upstream.closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 300))]);
    assert.equal(closedEarly, false, 'a client leaving does not stop a durable stream');
    const cancel = await fetch(`${server.baseUrl}/tellJoke`, { method: 'DELETE', headers: { 'x-genkit-stream-id': streamId } });
    assert.equal(cancel.status, 204);
    await within(upstream.closed, 'the upstream request to close after the DELETE');
    const resumed = await fetch(`${server.baseUrl}/tellJoke?stream=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-genkit-stream-id': streamId },
      body: JSON.stringify({ data: {} }),
    });
    assert.match(await resumed.text(), /^error: \{"error":\{.*"status":"CANCELLED"/m);
    const unknown = await fetch(`${server.baseUrl}/tellJoke`, { method: 'DELETE', headers: { 'x-genkit-stream-id': 'no-such-stream' } });
    assert.equal(unknown.status, 404);
  });
});

/** Bounded waits: a request that never comes fails the test with what was awaited, instead of hanging the suite. */
const WAIT_MS = 15_000;

function untilMoreRequests(gemini: GeminiWireServer, before: number): Promise<void> {
  return until('a request to reach the Gemini server', () => gemini.requests.length > before, { timeoutMs: WAIT_MS, intervalMs: 10 });
}

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${WAIT_MS} ms for ${what}`)), WAIT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
