import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runFlow, streamFlow } from 'genkit/beta/client';
import { DEFAULT_IMAGE_URL } from '../flows/describe-image.js';
import { DEFAULTS_INPUTS } from './support/flow-inputs.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** The documented defaults, written out: `{}` must behave exactly like these. */
const EXPLICIT_DEFAULTS: Record<string, Record<string, unknown>> = {
  tellJoke: { name: 'Mittens' },
  tellStory: { topic: 'a brave cat' },
  translateText: {
    text: 'Genkit makes it easy to build AI features. This sentence is a friendly example to translate.',
    targetLanguage: 'French',
  },
  describeImage: { imageUrl: DEFAULT_IMAGE_URL },
  generateCharacter: { name: 'Luna' },
  pirateChat: { question: 'What is the best programming language?' },
  generateCode: { description: 'reverse a string', language: 'python' },
  reviewCode: { code: 'print("hi")' },
};

/** A value of the default that must show in the result, proving the default reached the model. */
const VISIBLE_DEFAULT: Record<string, (result: Record<string, unknown>) => unknown> = {
  tellJoke: (r) => assert.match(String(r.joke), /Mittens/),
  tellStory: (r) => assert.match(String(r.story), /a brave cat/),
  translateText: (r) => assert.equal(r.targetLanguage, 'French'),
  describeImage: (r) => assert.equal(r.imageUrl, DEFAULT_IMAGE_URL),
  generateCharacter: (r) => assert.equal(r.name, 'Luna'),
  pirateChat: (r) => assert.match(String(r.answer), /best programming language/),
  generateCode: (r) => assert.equal(r.language, 'python'),
  reviewCode: (r) => assert.equal(typeof r.summary, 'string'),
};

describe('schema defaults apply in every call mode', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  const callModes: Record<string, (flow: string, input: unknown) => Promise<unknown>> = {
    'REST runFlow': (flow, input) => runFlow({ url: `${server.baseUrl}/${flow}`, input }),
    'REST streamFlow': async (flow, input) => {
      const { stream, output } = streamFlow({ url: `${server.baseUrl}/${flow}`, input });
      for await (const _chunk of stream);
      return output;
    },
    'in-process flow.run': async (flow, input) => (await flowNamed(flow).run(input)).result,
    'in-process flow.stream': async (flow, input) => {
      const { stream, output } = flowNamed(flow).stream(input);
      for await (const _chunk of stream);
      return output;
    },
  };
  const flowNamed = (name: string) => server.flows.find((f) => f.__action.name === name)!;

  for (const [mode, call] of Object.entries(callModes)) {
    for (const [flow, input] of Object.entries(DEFAULTS_INPUTS)) {
      it(`${mode}: ${flow}(${JSON.stringify(input)}) equals ${flow} with the defaults written out`, async () => {
        const implicit = (await call(flow, input)) as Record<string, unknown>;
        const explicit = await call(flow, EXPLICIT_DEFAULTS[flow]);
        assert.deepEqual(implicit, explicit);
        VISIBLE_DEFAULT[flow]!(implicit);
      });
    }
  }
});
