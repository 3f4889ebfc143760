import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFlowServer, type FlowServer } from '@genkit-ai/express';
import { STREAMING_FLOWS, VALID_INPUTS } from './support/flow-inputs.js';
import { startTestServer, type TestServer } from './support/test-server.js';
import { freePort } from './support/free-port.js';

/**
 * Our REST surface must speak exactly Genkit's flow-server protocol: the same
 * valid requests to a plain `startFlowServer` of the same flows and to ours
 * give the same status and body. The known differences are pinned below.
 */

interface Exchange {
  status: number;
  contentType: string | null;
  body: string;
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Exchange> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

describe('REST parity with a plain startFlowServer of the same flows', () => {
  let ours: TestServer;
  let plain: FlowServer;
  let plainUrl: string;

  before(async () => {
    ours = await startTestServer();
    // startFlowServer treats port 0 as "use 3400", so it needs a concrete free port.
    const port = await freePort();
    plain = startFlowServer({ flows: [...ours.flows], port });
    plainUrl = `http://127.0.0.1:${port}`;
    await waitUntilAnswering(plainUrl);
  });
  after(async () => {
    await plain.stop();
    await ours.close();
  });

  for (const [flow, input] of Object.entries(VALID_INPUTS)) {
    it(`${flow}: same status and body, non-streaming`, async () => {
      const body = JSON.stringify({ data: input });
      const [a, b] = await Promise.all([post(`${plainUrl}/${flow}`, body), post(`${ours.baseUrl}/${flow}`, body)]);
      assert.equal(a.status, 200);
      assert.deepEqual(b, a);
    });
  }

  for (const flow of STREAMING_FLOWS) {
    for (const how of ['?stream=true', 'Accept: text/event-stream'] as const) {
      it(`${flow}: same status and event stream, streaming via ${how}`, async () => {
        const body = JSON.stringify({ data: VALID_INPUTS[flow] });
        const query = how === '?stream=true' ? how : '';
        const headers: Record<string, string> = how === '?stream=true' ? {} : { accept: 'text/event-stream' };
        const [a, b] = await Promise.all([
          post(`${plainUrl}/${flow}${query}`, body, headers),
          post(`${ours.baseUrl}/${flow}${query}`, body, headers),
        ]);
        assert.equal(a.status, 200);
        assert.ok(a.body.split('data: {"message"').length - 1 >= 2, 'at least 2 chunk events');
        assert.match(a.body, /data: \{"result":/);
        assert.deepEqual(b, a);
      });
    }
  }

  it('`{}` gives the same defaults on both (the flows apply them, not the server)', async () => {
    const [a, b] = await Promise.all([post(`${plainUrl}/tellJoke`, '{"data":{}}'), post(`${ours.baseUrl}/tellJoke`, '{"data":{}}')]);
    assert.deepEqual(b, a);
    assert.match(b.body, /Mittens/);
  });

  describe('pinned differences', () => {
    it('invalid input: plain answers 500 INTERNAL without field information; ours 400 INVALID_ARGUMENT naming the field', async () => {
      const body = JSON.stringify({ data: { name: 'x'.repeat(201) } });
      const [a, b] = await Promise.all([post(`${plainUrl}/tellJoke`, body), post(`${ours.baseUrl}/tellJoke`, body)]);
      assert.equal(a.status, 500);
      assert.deepEqual(JSON.parse(a.body), { status: 'INTERNAL', message: 'Internal Error' });
      assert.equal(b.status, 400);
      assert.equal(JSON.parse(b.body).status, 'INVALID_ARGUMENT');
      assert.match(JSON.parse(b.body).message, /\bname\b/);
    });

    it('invalid input when streaming: plain starts a 200 stream with an error event; ours answers 400 first', async () => {
      const body = JSON.stringify({ data: { name: 'x'.repeat(201) } });
      const [a, b] = await Promise.all([
        post(`${plainUrl}/tellJoke?stream=true`, body),
        post(`${ours.baseUrl}/tellJoke?stream=true`, body),
      ]);
      assert.equal(a.status, 200);
      assert.equal(a.body, 'error: {"error":{"message":"Internal Error","status":"INTERNAL"}}\n\n');
      assert.equal(b.status, 400);
      assert.equal(JSON.parse(b.body).status, 'INVALID_ARGUMENT');
    });

    it('malformed JSON: plain answers express\'s HTML page with a stack trace; ours a JSON 400', async () => {
      const [a, b] = await Promise.all([post(`${plainUrl}/tellJoke`, '{"data":'), post(`${ours.baseUrl}/tellJoke`, '{"data":')]);
      assert.equal(a.status, 400);
      assert.match(a.contentType ?? '', /text\/html/);
      assert.match(a.body, /SyntaxError[\s\S]*at JSON\.parse[\s\S]*node_modules\/body-parser/);
      assert.equal(b.status, 400);
      assert.deepEqual(JSON.parse(b.body), {
        status: 'INVALID_ARGUMENT',
        message: 'Malformed JSON in the request body.',
        details: { errorInfo: { reason: 'MALFORMED_REQUEST', domain: 'genkit-flow-gateway' } },
      });
    });

    it('CORS: plain allows every origin; ours sends no CORS header by default', async () => {
      const headers = { origin: 'https://elsewhere.example' };
      const body = JSON.stringify({ data: {} });
      const [a, b] = await Promise.all([
        fetch(`${plainUrl}/tellJoke`, { method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } }),
        fetch(`${ours.baseUrl}/tellJoke`, { method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } }),
      ]);
      await Promise.all([a.text(), b.text()]);
      assert.equal(a.headers.get('access-control-allow-origin'), '*');
      assert.equal(b.headers.get('access-control-allow-origin'), null);
    });

    it('x-powered-by: plain announces Express; ours does not', async () => {
      const body = JSON.stringify({ data: {} });
      const [a, b] = await Promise.all([post(`${plainUrl}/tellJoke`, body), post(`${ours.baseUrl}/tellJoke`, body)]);
      assert.equal(a.status, b.status);
      const [ha, hb] = await Promise.all([
        fetch(`${plainUrl}/tellJoke`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
        fetch(`${ours.baseUrl}/tellJoke`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
      ]);
      await Promise.all([ha.text(), hb.text()]);
      assert.equal(ha.headers.get('x-powered-by'), 'Express');
      assert.equal(hb.headers.get('x-powered-by'), null);
    });
  });
});

/** startFlowServer does not expose when it listens; poll until any HTTP answer comes back. */
async function waitUntilAnswering(url: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await (await fetch(url)).text();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`startFlowServer at ${url} never answered`);
}
