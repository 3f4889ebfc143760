import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toJsonSchema } from '@genkit-ai/core/schema';
import { Validator } from '@seriousme/openapi-schema-validator';
import { chromium } from 'playwright-core';
import { OPENAPI_FILE, REPO_ROOT } from '../grpc/generated-paths.js';
import { pascalCase } from '../grpc/naming.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** The REST contract: generated/openapi.json, /openapi.json and /docs. */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Debian's Chromium; CHROMIUM_PATH points elsewhere (another distribution's path, or a missing one to see the skip). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIR = join(REPO_ROOT, 'test-output');

/** Genkit's own JSON schema of a Zod schema, without the draft marker OpenAPI does not allow inside. */
function genkitJsonSchema(schema: unknown): Json {
  const { $schema: _marker, ...rest } = toJsonSchema({ schema: schema as never }) as Json;
  return rest;
}

describe('generated/openapi.json', () => {
  let document: Json;
  let server: TestServer;
  before(async () => {
    document = JSON.parse(await readFile(OPENAPI_FILE, 'utf8')) as Json;
    server = await startTestServer({ API_DOCS: 'true' });
  });
  after(async () => {
    await server.close();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(document as never);
    assert.equal(document.openapi, '3.1.0');
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
  });

  it('has every flow, with request and response schemas equal to the flow\'s JSON schema', () => {
    assert.deepEqual(Object.keys(document.paths).sort(), ['/health', ...server.flows.map((f) => `/${f.__action.name}`)].sort());
    for (const flow of server.flows) {
      const base = pascalCase(flow.__action.name);
      const operation = document.paths[`/${flow.__action.name}`].post as Json;
      assert.equal(operation.operationId, flow.__action.name);
      assert.equal(operation.summary, flow.__action.description);
      assert.deepEqual(document.components.schemas[`${base}Input`], genkitJsonSchema(flow.__action.inputSchema));
      assert.deepEqual(document.components.schemas[`${base}Output`], genkitJsonSchema(flow.__action.outputSchema));
      assert.deepEqual(operation.requestBody.content['application/json'].schema, { $ref: `#/components/schemas/${base}Request` });
      assert.ok(operation.responses['200'].content['text/event-stream'], 'the streaming variant is documented');
      for (const code of ['400', '401', '413', '429', '500', '503', '504']) assert.ok(operation.responses[code], `${flow.__action.name} documents ${code}`);
    }
    assert.ok(document.components.schemas.TellJokeStreamChunk);
    assert.equal(document.components.securitySchemes.bearerAuth.scheme, 'bearer');
  });

  it('carries field descriptions and examples from the schema defaults', () => {
    const tellJoke = document.components.schemas.TellJokeInput as Json;
    assert.equal(tellJoke.properties.name.description, 'Who or what the joke is about.');
    assert.deepEqual(document.paths['/tellJoke'].post.requestBody.content['application/json'].example, { data: { name: 'Mittens' } });
  });

  it('is what the server serves at /openapi.json', async () => {
    assert.deepEqual(await (await fetch(`${server.baseUrl}/openapi.json`)).json(), document);
  });

  it('gives an example request for every flow that the running server accepts', async () => {
    for (const [path, item] of Object.entries(document.paths as Record<string, Json>)) {
      if (!item.post) continue;
      const example = item.post.requestBody.content['application/json'].example as Json;
      const res = await fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(example) });
      assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
      const flow = server.flows.find((f) => `/${f.__action.name}` === path)!;
      assert.ok(flow.__action.outputSchema!.safeParse(((await res.json()) as Json).result).success, `${path} result matches its schema`);
    }
  });
});

describe('/openapi.json and /docs availability', () => {
  it('are off by default, and on in debug; with API keys the document requires the Bearer scheme', async () => {
    const plain = await startTestServer();
    const debug = await startTestServer({ DEBUG: 'true', LOG_FORMAT: 'json', API_KEYS: 'k1' });
    try {
      assert.equal((await fetch(`${plain.baseUrl}/openapi.json`)).status, 404);
      assert.equal((await fetch(`${plain.baseUrl}/docs/`)).status, 404);
      const key = { authorization: 'Bearer k1' };
      const served = (await (await fetch(`${debug.baseUrl}/openapi.json`, { headers: key })).json()) as Json;
      assert.deepEqual(served.security, [{ bearerAuth: [] }]);
      const page = await fetch(`${debug.baseUrl}/docs/`, { headers: key });
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      const api = await fetch(`${debug.baseUrl}/health`);
      assert.equal(api.headers.get('content-security-policy'), "default-src 'none'", 'the relaxed CSP is for /docs only');
    } finally {
      await Promise.all([plain.close(), debug.close()]);
    }
  });
});

// The skip is on the test, not the suite: node:test counts a skipped test in its "skipped" total, not a skipped suite.
describe('/docs in headless Chromium', () => {
  it('loads offline from our origin, lists every flow, and saves a screenshot', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, async () => {
    const server = await startTestServer({ API_DOCS: 'true' });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
      const external: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith(server.baseUrl) && !request.url().startsWith('data:')) external.push(request.url());
      });
      const consoleErrors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      await page.goto(`${server.baseUrl}/docs/`);
      await page.waitForSelector('.opblock', { timeout: 15_000 });
      const paths = await page.$$eval('.opblock-summary-path', (nodes) => nodes.map((n) => n.getAttribute('data-path') ?? n.textContent ?? ''));
      for (const flow of server.flows) assert.ok(paths.some((p) => p.includes(`/${flow.__action.name}`)), `${flow.__action.name} listed in ${paths.join(', ')}`);
      await mkdir(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'docs.png'), fullPage: false });
      assert.deepEqual(external, [], 'no request leaves our origin (no CDN)');
      assert.deepEqual(consoleErrors.filter((e) => /Content Security Policy/i.test(e)), [], 'nothing blocked by the CSP');
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
