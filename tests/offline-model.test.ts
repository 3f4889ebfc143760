import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { z } from 'genkit';
import { toJsonSchema } from '@genkit-ai/core/schema';
import { createGenkit } from '../genkit.config.js';
import { OFFLINE_MODEL_NAME } from '../models/offline/offline-model.js';
import { instanceFromSchema } from '../models/offline/instance-from-schema.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => void;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);

/** A schema using every feature the offline model must honour. */
const EverythingSchema = z.object({
  title: z.string().min(5).max(40),
  code: z.string().regex(/^[A-Z]{3}-\d{2}$/),
  website: z.string().url(),
  contact: z.string().email(),
  createdAt: z.string().datetime(),
  id: z.string().uuid(),
  count: z.number().int().min(3).max(7),
  ratio: z.number().gt(0).lt(1),
  negative: z.number().int().max(-10),
  flag: z.boolean(),
  mood: z.enum(['happy', 'sad', 'neutral']),
  tags: z.array(z.string().max(12)).min(4).max(6),
  empty: z.array(z.number()).max(0),
  nested: z.object({ deeper: z.object({ level: z.number().int().min(0).max(2), label: z.literal('fixed') }) }),
  optionalNote: z.string().optional(),
  nullableNote: z.string().nullable(),
  record: z.record(z.number().int().min(1).max(1)),
  union: z.union([z.number(), z.string()]),
  people: z.array(z.object({ name: z.string().min(1), age: z.number().int().min(0).max(120) })).min(2),
});

const describeField = ({ name }: { name: string }) => `text for ${name}`;

describe('offline model: instanceFromSchema', () => {
  const jsonSchema = toJsonSchema({ schema: EverythingSchema });

  it('returns JSON valid against a schema using every supported feature', () => {
    const value = instanceFromSchema(jsonSchema, { seed: 1, describe: describeField });
    const validate = ajv.compile(jsonSchema as object);
    assert.ok(validate(value), JSON.stringify(validate.errors));
    assert.deepEqual(EverythingSchema.parse(value), value);
  });

  it('stays valid for 200 different seeds', () => {
    const validate = ajv.compile(jsonSchema as object);
    for (let seed = 0; seed < 200; seed++) {
      const value = instanceFromSchema(jsonSchema, { seed: seed * 7919, describe: describeField });
      assert.ok(validate(value), `seed ${seed}: ${JSON.stringify(validate.errors)}`);
    }
  });

  it('is deterministic for a given seed and differs across seeds', () => {
    const a = instanceFromSchema(jsonSchema, { seed: 42, describe: describeField });
    const b = instanceFromSchema(jsonSchema, { seed: 42, describe: describeField });
    assert.deepEqual(a, b);
    const others = [1, 2, 3, 4, 5].map((seed) => JSON.stringify(instanceFromSchema(jsonSchema, { seed, describe: describeField })));
    assert.ok(new Set(others).size > 1, 'seeds change the choices');
  });

  it('respects array bounds exactly and fills required and optional fields', () => {
    const value = instanceFromSchema(jsonSchema, { seed: 9, describe: describeField }) as z.infer<typeof EverythingSchema>;
    assert.equal(value.tags.length, 4);
    assert.equal(value.empty.length, 0);
    assert.equal(value.people.length, 3);
    assert.equal(value.nested.deeper.label, 'fixed');
    assert.equal(typeof value.optionalNote, 'string');
  });

  it('resolves local $refs (a schema reused twice)', () => {
    const Point = z.object({ x: z.number().int().min(1).max(1) });
    const schema = toJsonSchema({ schema: z.object({ a: Point, b: Point }) }) as Record<string, unknown>;
    const value = instanceFromSchema(schema, { seed: 3, describe: describeField });
    assert.deepEqual(value, { a: { x: 1 }, b: { x: 1 } });
  });
});

describe('offline model through ai.generate', () => {
  const { ai } = createGenkit({ kind: 'offline', latencyMs: 0 });

  it('returns output valid against the requested output schema', async () => {
    const { output } = await ai.generate({ prompt: 'Describe a planet named "Zed".', output: { schema: EverythingSchema } });
    assert.deepEqual(EverythingSchema.parse(output), output);
  });

  it('is deterministic: the same request gives the same response', async () => {
    const request = { prompt: 'Tell a joke about Ada.', system: 'You are a comedian.' };
    const [a, b] = await Promise.all([ai.generate(request), ai.generate(request)]);
    assert.equal(a.text, b.text);
    assert.notEqual((await ai.generate({ prompt: 'Tell a joke about Grace.' })).text, a.text);
  });

  it('honours a system prompt: a pirate speaks like one, another persona is named', async () => {
    const pirate = await ai.generate({ system: 'You are a pirate captain.', prompt: 'What is your ship called?' });
    assert.match(pirate.text, /^(Arr, matey!|Ahoy there!|Yo ho ho!) .* Savvy\?$/s);
    const plain = await ai.generate({ prompt: 'What is your ship called?' });
    assert.doesNotMatch(plain.text, /Arr|Ahoy|Savvy/);
    const persona = await ai.generate({ system: 'You are a careful librarian.', prompt: 'Recommend a book.' });
    assert.match(persona.text, /^Speaking as a careful librarian: /);
  });

  it('requests an offered tool once, then uses its result', async () => {
    let calls = 0;
    const tool = ai.defineTool(
      { name: 'lookupWeather', description: 'Weather now', inputSchema: z.object({ city: z.string() }), outputSchema: z.string() },
      async ({ city }) => {
        calls++;
        return `sunny in ${city}`;
      },
    );
    const response = await ai.generate({ prompt: 'Is it sunny?', tools: [tool] });
    assert.equal(calls, 1);
    const toolRequests = response.messages.flatMap((m) => m.content.filter((p) => p.toolRequest));
    assert.equal(toolRequests.length, 1);
    assert.match(response.text, /lookupWeather → sunny in /);
  });

  it('streams text in several chunks whose concatenation is the final text', async () => {
    const { stream, response } = ai.generateStream({ prompt: 'Write a story about a lighthouse in two paragraphs.' });
    const chunks: string[] = [];
    for await (const chunk of stream) chunks.push(chunk.text);
    assert.ok(chunks.length >= 2, `${chunks.length} chunks`);
    assert.equal(chunks.join(''), (await response).text);
    assert.equal((await response).text.split('\n\n').length, 2);
  });

  it('accepts media parts and mentions the image', async () => {
    const response = await ai.generate({
      prompt: [{ text: 'What is in this picture?' }, { media: { url: 'https://example.com/a.png', contentType: 'image/png' } }],
    });
    assert.match(response.text, /https:\/\/example\.com\/a\.png \(image\/png\)/);
  });

  it('stops a slow stream when the caller aborts', async () => {
    // A long per-chunk delay so the bound below holds on a loaded CI machine too.
    const slow = createGenkit({ kind: 'offline', latencyMs: 2000 }).ai;
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(slow.generate({ prompt: 'Tell a joke.', abortSignal: controller.signal }), /CANCELLED|abort/i);
    assert.ok(Date.now() - started < 1500, 'aborted before the delay elapsed');
  });

  it('is registered under its own clearly labelled name', async () => {
    const action = await ai.registry.lookupAction(`/model/${OFFLINE_MODEL_NAME}`);
    assert.ok(action);
    assert.match(String(action.__action.metadata?.model?.label), /^Offline deterministic model/);
  });
});
