import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyGenkitLine } from '../server/genkit-request-failures.js';

/** The lines @genkit-ai/express 1.42 writes (see its lib/index.mjs); the real-process check is in input-hygiene.test.ts. */
const stack = '\nGenkitError: …\n    at parseSchema (/app/node_modules/@genkit-ai/core/lib/schema.js:1:1)';

describe("Genkit's request-failure lines", () => {
  it('client faults (streaming or not) become info, first line only, with the status', () => {
    for (const prefix of ['Non-streaming request', 'Streaming request', 'Auth policy']) {
      const line = classifyGenkitLine('error', `${prefix} failed with error: INVALID_ARGUMENT: Invalid input: x${stack}`);
      assert.deepEqual(line, { level: 'info', message: `${prefix} failed with error: INVALID_ARGUMENT: Invalid input: x`, status: 'INVALID_ARGUMENT' });
    }
    const long = classifyGenkitLine('error', `Non-streaming request failed with error: UNAUTHENTICATED: ${'k'.repeat(1000)}`);
    assert.ok(long.message.length <= 301);
  });

  it('server faults and everything else keep their level and text', () => {
    const internal = `Non-streaming request failed with error: INTERNAL: boom${stack}`;
    assert.deepEqual(classifyGenkitLine('error', internal), { level: 'error', message: internal });
    const plain = `Non-streaming request failed with error: Maximum call stack size exceeded${stack}`;
    assert.deepEqual(classifyGenkitLine('error', plain), { level: 'error', message: plain });
    assert.deepEqual(classifyGenkitLine('warn', 'INVALID_ARGUMENT: x'), { level: 'warn', message: 'INVALID_ARGUMENT: x' });
  });
});
