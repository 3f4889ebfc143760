import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runFlow, streamFlow } from 'genkit/beta/client';
import { DEFAULT_IMAGE_URL } from '../flows/describe-image.js';
import { STREAMING_FLOWS, VALID_INPUTS } from './support/flow-inputs.js';
import { startTestServer, type TestServer } from './support/test-server.js';

describe('REST surface on the offline model, through Genkit\'s own client', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  const flowNamed = (name: string) => {
    const flow = server.flows.find((f) => f.__action.name === name);
    assert.ok(flow, `flow ${name} is registered`);
    return flow;
  };

  it('serves exactly the 8 documented flows', () => {
    assert.deepEqual(
      server.flows.map((f) => f.__action.name),
      ['tellJoke', 'tellStory', 'translateText', 'describeImage', 'generateCharacter', 'pirateChat', 'generateCode', 'reviewCode'],
    );
  });

  for (const [name, input] of Object.entries(VALID_INPUTS)) {
    it(`runFlow(${name}) returns a result valid against the flow's output schema`, async () => {
      const result: unknown = await runFlow({ url: `${server.baseUrl}/${name}`, input });
      const parsed = flowNamed(name).__action.outputSchema!.safeParse(result);
      assert.ok(parsed.success, `schema errors: ${JSON.stringify(parsed.error?.issues)}`);
      assert.deepEqual(parsed.data, result, 'no field beyond the schema');
    });
  }

  for (const name of STREAMING_FLOWS) {
    it(`streamFlow(${name}) delivers at least 2 chunks in order, then the result`, async () => {
      const { stream, output } = streamFlow({ url: `${server.baseUrl}/${name}`, input: VALID_INPUTS[name] });
      const chunks: string[] = [];
      for await (const chunk of stream) chunks.push(chunk as string);
      const result = (await output) as Record<string, string>;
      assert.ok(chunks.length >= 2, `got ${chunks.length} chunks`);
      if (name === 'tellJoke') assert.equal(chunks.join(''), result.joke);
      else assert.equal(chunks.join('\n\n'), result.story);
      assert.ok(flowNamed(name).__action.outputSchema!.safeParse(result).success);
    });
  }

  it('tellJoke echoes the username only when given', async () => {
    const withUser = await runFlow({ url: `${server.baseUrl}/tellJoke`, input: { name: 'Ada', username: 'ada' } });
    assert.equal(withUser.username, 'ada');
    const withoutUser = await runFlow({ url: `${server.baseUrl}/tellJoke`, input: { name: 'Ada' } });
    assert.equal('username' in withoutUser, false);
  });

  it('translateText trims its input in the sanitize-input step and keeps the target language', async () => {
    const result = await runFlow({ url: `${server.baseUrl}/translateText`, input: VALID_INPUTS.translateText });
    assert.equal(result.originalText, 'Good morning, friends.');
    assert.equal(result.targetLanguage, 'Spanish');
    assert.ok(['high', 'medium', 'low'].includes(result.confidence));
  });

  it('translateText caps the sanitized text at 2000 characters', async () => {
    const result = await runFlow({ url: `${server.baseUrl}/translateText`, input: { text: 'x'.repeat(5000) } });
    assert.equal(result.originalText.length, 2000);
  });

  it('pirateChat answers as a pirate captain (system prompt honoured)', async () => {
    const result = await runFlow({ url: `${server.baseUrl}/pirateChat`, input: {} });
    assert.equal(result.persona, 'pirate captain');
    assert.match(result.answer, /^(Arr, matey!|Ahoy there!|Yo ho ho!) /);
  });

  it('describeImage hands the image to the model as a media part', async () => {
    const result = await runFlow({ url: `${server.baseUrl}/describeImage`, input: {} });
    assert.equal(result.imageUrl, DEFAULT_IMAGE_URL);
    assert.ok(result.description.includes(DEFAULT_IMAGE_URL), result.description);
  });

  it('generateCode and reviewCode return the language they were asked for', async () => {
    const code = await runFlow({ url: `${server.baseUrl}/generateCode`, input: { description: 'sum a list', language: 'c#' } });
    assert.equal(code.language, 'c#');
    const review = await runFlow({ url: `${server.baseUrl}/reviewCode`, input: { code: 'x = 1', language: 'python' } });
    assert.equal(review.language, 'python');
    assert.ok(Number.isInteger(review.score) && review.score >= 1 && review.score <= 10);
  });

  it('the same request gives the same result (deterministic offline model)', async () => {
    const first = await runFlow({ url: `${server.baseUrl}/generateCharacter`, input: { name: 'Orion' } });
    const second = await runFlow({ url: `${server.baseUrl}/generateCharacter`, input: { name: 'Orion' } });
    assert.deepEqual(second, first);
  });

  it('GET /health names the model in use', async () => {
    const res = await fetch(`${server.baseUrl}/health`);
    assert.equal(res.status, 200);
    const { eventLoop, ...health } = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(health, { status: 'ok', model: 'offline/deterministic', offline: true, flows: 8, circuit: 'CLOSED', workers: { serving: 1, configured: 1 } });
    assert.deepEqual(Object.keys(eventLoop as object), ['p99Ms', 'maxMs']);
  });

  it('logs at start-up which model is in use and why', () => {
    const line = server.logs.lines.find((l) => l.model === 'offline/deterministic');
    assert.ok(line, 'a start-up line names the model');
    assert.match(String(line.reason), /no GEMINI_API_KEY or GOOGLE_API_KEY/);
  });
});
