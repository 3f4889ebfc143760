import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getGenkitRuntimeConfig } from 'genkit';
import { HOT_CALLS, tierUp, validationTier } from '../flows/schema-validation-tier.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/**
 * flows/schema-validation-tier.ts: a cold process validates with Genkit's
 * interpreter (no ajv compile on the first calls); once hot it compiles every
 * registered schema and switches Genkit to 'compile'. What a client sees —
 * results, and the wording of refusals — is the same in both tiers.
 * (Genkit's setting is process-wide; node:test runs each file in its own process.)
 */

/** Inputs near the edges of what the schemas allow: refused (with a message) or accepted, in both tiers. */
const PROBES: Array<{ flow: string; data: unknown }> = [
  { flow: 'describeImage', data: { imageUrl: ' https://x' } },
  { flow: 'describeImage', data: { imageUrl: 'https://１２３.com/' } },
  { flow: 'describeImage', data: { imageUrl: 'https://a\\@127.0.0.1/' } },
  { flow: 'describeImage', data: { imageUrl: 'https://8.8.8.8/a.png' } },
  { flow: 'generateCode', data: { description: 'sort a list', language: 'c++' } },
  { flow: 'generateCode', data: { description: 'sort a list', language: 'c--' } },
  { flow: 'tellJoke', data: { name: 'x'.repeat(10_000) } },
  { flow: 'tellJoke', data: { name: 42 } },
  { flow: 'tellJoke', data: { name: 'Ada', extra: true } },
  { flow: 'translateText', data: { text: '', targetLanguage: 'French' } },
];

describe('JSON-schema validation tiers (interpreted while cold, compiled once hot)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ LOG_LEVEL: 'debug' });
  });
  after(() => server.close());

  const call = async (flow: string, data: unknown) => {
    const res = await fetch(`${server.baseUrl}/${flow}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data }) });
    return { status: res.status, body: await res.text() };
  };

  let cold: Array<{ status: number; body: string }> = [];

  it('a freshly started server validates interpreted, and its first calls are served without compiling', async () => {
    assert.equal(validationTier(), 'interpret');
    assert.equal(getGenkitRuntimeConfig().jsonSchemaMode, 'interpret');
    cold = [];
    for (const probe of PROBES) cold.push(await call(probe.flow, probe.data));
    assert.ok(PROBES.length < HOT_CALLS);
    // A refusal is worded by ajv even while cold, and switching to word it leaves the process interpreted.
    assert.equal(validationTier(), 'interpret');
    assert.equal(getGenkitRuntimeConfig().jsonSchemaMode, 'interpret');
    assert.ok(cold.some((r) => r.status === 200) && cold.some((r) => r.status === 400), JSON.stringify(cold));
    const refused = JSON.parse(cold[0]!.body) as { message: string };
    assert.match(refused.message, /^Invalid input: imageUrl: must match format "uri"/);
  });

  it(`after ${HOT_CALLS} flow calls the process compiles its validators and Genkit runs on ajv`, async () => {
    // ajv's strict-mode note on Genkit's GenerateRequest schema must reach the JSON logs, not stderr.
    const rawWarnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void rawWarnings.push(args.map(String).join(' '));
    after(() => (console.warn = warn));
    for (let i = validationCallsSoFar(); i < HOT_CALLS; i++) assert.equal((await call('tellJoke', { name: 'Ada' })).status, 200);
    assert.notEqual(validationTier(), 'interpret');
    // While it compiles (one schema per macrotask), Genkit stays interpreted: calls served meanwhile
    // must not compile the schemas they need inline (the burst that made the process hot would stall).
    const modesWhileTieringUp = new Set<string>();
    let turns = 0;
    while (validationTier() === 'tiering-up') {
      modesWhileTieringUp.add(getGenkitRuntimeConfig().jsonSchemaMode ?? 'compile');
      if (turns++ % 4 === 0) assert.equal((await call('tellJoke', { name: 'Ada' })).status, 200);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(turns > 0, 'the tier-up was still running when the hot call returned');
    assert.deepEqual([...modesWhileTieringUp], ['interpret']);
    await tierUp();
    assert.equal(validationTier(), 'compile');
    assert.equal(getGenkitRuntimeConfig().jsonSchemaMode, 'compile');
    console.warn = warn;
    // (Genkit's own logger is not routed in this in-process server, so its lines do reach the console here.)
    assert.deepEqual(rawWarnings.filter((w) => /strict mode/.test(w)), [], 'no ajv note printed raw on the console');
    const ajvLines = server.logs.lines.filter((l) => l.source === 'ajv');
    assert.ok(ajvLines.some((l) => /^strict mode: use allowUnionTypes/.test(String(l.msg)) && l.level === 20), JSON.stringify(ajvLines));
  });

  it('every probe gets the same status and body once compiled as it did cold', async () => {
    for (const [i, probe] of PROBES.entries()) {
      const hot = await call(probe.flow, probe.data);
      assert.deepEqual(hot, cold[i], `${probe.flow} ${JSON.stringify(probe.data).slice(0, 60)}`);
    }
  });

  /** Calls made by the first test (every probe reaches admission, refused ones included). */
  function validationCallsSoFar(): number {
    return PROBES.length;
  }
});
