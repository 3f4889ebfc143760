import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { credentials, Client, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { chromium } from 'playwright-core';
import { isGlobalUnicast } from '../flows/global-address.js';
import type { FlowServiceClient } from '../generated/ts/genkit/flows/v1/flows.js';
import { callUnary, flowClient } from './support/grpc-client.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * Issue 15 items 5-8 and 10, attacked on the real process (`main.ts`, JSON
 * logs on stdout, stderr captured): every hostile input gets a clean 4xx (or
 * INVALID_ARGUMENT / UNAUTHENTICATED), no body carries a stack, a schema or an
 * echo of the input, and no log line is an error or holds a stack.
 */

const CHROMIUM = '/usr/bin/chromium';
const KEY = 'hygiene-key-1';
const AUTH = { authorization: `Bearer ${KEY}` };
const JSON_AUTH = { 'content-type': 'application/json', ...AUTH };
/** What must never reach a client or a log line for a client fault. */
const LEAKS = /node_modules|\n\s+at |RangeError|Required JSON schema|Provided data|"schema"/;

/** `[[[ … ]]]`, `depth` levels: 10 KB for 5000. */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

let proc: ServerProcess;
let base: string;
let client: FlowServiceClient;

before(async () => {
  proc = await startServerProcess({
    API_KEYS: `ops:${KEY}`,
    API_DOCS: 'true',
    GRPC_REFLECTION: 'true',
    RATE_LIMIT: '100000/minute',
    LOG_LEVEL: 'info',
  });
  base = `http://127.0.0.1:${proc.restPort}`;
  client = flowClient(proc.grpcPort);
});

after(async () => {
  client?.close();
  assert.equal(await proc?.stop(), 0);
});

function post(path: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, { method: 'POST', headers: { ...JSON_AUTH, ...headers }, body });
}

/** The process flushes its buffered stdout every 500 ms. */
async function logsSince(mark: number): Promise<Record<string, unknown>[]> {
  await sleep(800);
  return proc.logs.slice(mark);
}

/** No error-level line, nothing that looks like a stack, a schema dump or the attack's payload; stderr silent. */
function assertQuietLogs(lines: Record<string, unknown>[], stderrMark: number, payloadSample?: string): void {
  for (const line of lines) {
    const text = JSON.stringify(line);
    assert.ok((line.level as number) < 50, `error-level line: ${text.slice(0, 300)}`);
    assert.doesNotMatch(text, /node_modules|\\n\s+at |RangeError|Required JSON schema|Provided data/, text.slice(0, 300));
    if (payloadSample) assert.ok(!text.includes(payloadSample), `payload echoed in the log: ${text.slice(0, 300)}`);
  }
  assert.deepEqual(proc.stderr.slice(stderrMark), [], 'nothing written to stderr');
}

async function expectClientError(res: Response, httpStatus: number, message: RegExp): Promise<void> {
  const body = await res.text();
  assert.equal(res.status, httpStatus, body.slice(0, 300));
  assert.doesNotMatch(body, LEAKS, body.slice(0, 300));
  assert.match((JSON.parse(body) as { message: string }).message, message);
}

describe('item 5: init and deep nesting never reach Genkit', () => {
  it('rejects `init` (5000 levels, 10 KB) with 400 on plain and streaming calls; 50 attacks write no error line', async () => {
    const mark = proc.logs.length;
    const stderrMark = proc.stderr.length;
    const attack = `{"data":{},"init":${nested(5000)}}`;
    assert.ok(attack.length >= 10_000);
    // Refused while reading the body (too deep to parse), before Genkit or even JSON.parse sees it.
    await expectClientError(await post('/tellJoke', attack), 400, /nests deeper than 32 levels/);
    await expectClientError(await post('/tellStory?stream=true', attack), 400, /nests deeper than 32 levels/);
    // A shallow `init` is refused as such.
    await expectClientError(await post('/tellJoke', '{"data":{},"init":{"a":[1]}}'), 400, /"init" is not supported/);
    await expectClientError(await post('/tellStory?stream=true', '{"data":{},"init":[]}'), 400, /"init" is not supported/);
    await expectClientError(await post('/tellJoke', '{"data":{},"init":null}'), 400, /"init" is not supported/);
    const statuses = await Promise.all(Array.from({ length: 50 }, () => post('/tellJoke', attack).then(async (r) => (await r.arrayBuffer(), r.status))));
    assert.deepEqual(new Set(statuses), new Set([400]));
    const lines = await logsSince(mark);
    assert.equal(lines.filter((l) => (l.res as { status?: number } | undefined)?.status === 400).length, 55, 'one warn access line each');
    assertQuietLogs(lines, stderrMark);
  });

  it('bounds the nesting depth of `data` (32 levels) with a 400, on fields Zod would strip too', async () => {
    const mark = proc.logs.length;
    const stderrMark = proc.stderr.length;
    await expectClientError(await post('/tellJoke', `{"data":{"name":"Ada","extra":${nested(5000)}}}`), 400, /nests deeper than 32 levels/);
    await expectClientError(await post('/generateCharacter', `{"data":{"abilities":${nested(40)}}}`), 400, /nests deeper than 32 levels/);
    // 1 MB of brackets: refused by a byte scan before JSON.parse (which would spend ~0.3 s of event loop on it).
    const started = performance.now();
    await expectClientError(await post('/tellJoke', `{"data":${nested(524_000)}}`), 400, /nests deeper than 32 levels/);
    assert.ok(performance.now() - started < 2000);
    // Brackets inside strings do not count.
    const brackets = await post('/tellJoke', JSON.stringify({ data: { name: `${'['.repeat(100)}"\\{` } }));
    assert.equal(brackets.status, 200, await brackets.text());
    // Ordinary nesting is untouched.
    const ok = await post('/generateCharacter', JSON.stringify({ data: { name: 'Ada', abilities: ['x'] } }));
    assert.equal(ok.status, 200, await ok.text());
    assertQuietLogs(await logsSince(mark), stderrMark);
  });
});

describe("item 6: our validation is the only one that rejects (Genkit's JSON-schema check agrees)", () => {
  const DISAGREEING = [' https://x', 'https://１２３.com/', 'https://a\\@127.0.0.1/'];

  it('REST: 400 naming the field, no schema, no echo of the input; no error line, no stack', async () => {
    const mark = proc.logs.length;
    const stderrMark = proc.stderr.length;
    for (const imageUrl of DISAGREEING) {
      const res = await post('/describeImage', JSON.stringify({ data: { imageUrl } }));
      const body = await res.text();
      assert.equal(res.status, 400, body);
      assert.doesNotMatch(body, LEAKS);
      assert.ok(!body.includes(JSON.stringify(imageUrl).slice(1, -1)), `input echoed: ${body}`);
      const parsed = JSON.parse(body) as { status: string; message: string };
      assert.equal(parsed.status, 'INVALID_ARGUMENT');
      assert.match(parsed.message, /^Invalid input: imageUrl: /);
    }
    assertQuietLogs(await logsSince(mark), stderrMark, 'Required JSON schema');
  });

  it('gRPC: INVALID_ARGUMENT naming the field, no schema in the details', async () => {
    for (const imageUrl of DISAGREEING) {
      await assert.rejects(callUnary(client, 'describeImage', { imageUrl }, { metadata: AUTH }), (e: ServiceError) => {
        assert.equal(e.code, status.INVALID_ARGUMENT);
        assert.match(e.details, /^Invalid input: imageUrl: /);
        assert.doesNotMatch(e.details, LEAKS);
        return true;
      });
    }
  });

  it('a client fault raised inside a flow is logged at info without a stack (Genkit logs it at error)', async () => {
    const mark = proc.logs.length;
    const stderrMark = proc.stderr.length;
    await expectClientError(await post('/describeImage', JSON.stringify({ data: { imageUrl: 'https://[::1]/a.png' } })), 400, /loopback/);
    await assert.rejects(callUnary(client, 'describeImage', { imageUrl: 'https://[::1]/a.png' }, { metadata: AUTH }), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
    const lines = await logsSince(mark);
    const genkitLine = lines.find((l) => l.source === 'genkit' && String(l.msg).startsWith('Non-streaming request failed'));
    assert.ok(genkitLine, 'Genkit reported the failed call');
    assert.equal(genkitLine.level, 30);
    assert.equal(genkitLine.status, 'INVALID_ARGUMENT');
    assert.doesNotMatch(String(genkitLine.msg), /\n/);
    const rpcLine = lines.find((l) => l.rpc === '/genkit.flows.v1.FlowService/DescribeImage');
    assert.equal(rpcLine?.level, 40, 'the RPC access line is a warning');
    assertQuietLogs(lines, stderrMark);
  });
});

describe('item 7: a body that is not what its Content-Encoding says', () => {
  it('gzip, br and deflate that do not decompress → 400; an unknown encoding → 415; a gzip bomb → 413; no error line', async () => {
    const mark = proc.logs.length;
    const stderrMark = proc.stderr.length;
    const body = '{"data":{}}';
    for (const encoding of ['gzip', 'br', 'deflate']) {
      await expectClientError(await post('/tellJoke', body, { 'content-encoding': encoding }), 400, new RegExp(`not valid ${encoding} data`));
    }
    await expectClientError(await post('/tellJoke', body, { 'content-encoding': 'compress' }), 415, /Unsupported request body encoding/);
    // 5 MB of JSON in 5 KB of gzip: the size limit applies to what it inflates to.
    const bomb = gzipSync(`{"data":{"name":"${'a'.repeat(5_000_000)}"}}`);
    assert.ok(bomb.length < 10_000);
    await expectClientError(await post('/tellJoke', bomb, { 'content-encoding': 'gzip' }), 413, /exceeds the limit/);
    // Honest compressed bodies still work.
    for (const [encoding, compressed] of [['gzip', gzipSync(body)], ['br', brotliCompressSync(body)]] as const) {
      const ok = await post('/tellJoke', compressed, { 'content-encoding': encoding });
      assert.equal(ok.status, 200, await ok.text());
    }
    assertQuietLogs(await logsSince(mark), stderrMark);
  });
});

describe('item 8: the SSRF guard allows only global unicast addresses', () => {
  const BYPASSES = [
    'https://[::127.0.0.1]/a.png',
    'https://[64:ff9b::7f00:1]/a.png',
    'https://[64:ff9b::a9fe:a9fe]/latest/meta-data/',
    'https://[2002:7f00:1::]/a.png',
    'https://[2002:a9fe:a9fe::]/latest/meta-data/',
    'https://[::ffff:0:7f00:1]/a.png',
    'https://[fec0::1]/a.png',
    'https://224.0.0.1/a.png',
    'https://[64:ff9b:1::a9fe:a9fe]/a.png',
    'https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/a.png', // Teredo, client 127.0.0.1
    'https://[ff02::1]/a.png',
    'https://[2001:db8::1]/a.png',
    'https://localhost../a.png',
  ];

  it('REST: 400 for every bypass the issue listed (and a few more)', async () => {
    for (const imageUrl of BYPASSES) {
      const res = await post('/describeImage', JSON.stringify({ data: { imageUrl } }));
      const body = await res.text();
      assert.equal(res.status, 400, `${imageUrl}: ${body}`);
      assert.match(body, /INVALID_ARGUMENT/);
    }
  });

  it('a trailing dot does not hide a local name: this machine\'s own hostname, with a dot', async (t) => {
    const name = hostname();
    const addresses = (await lookup(name, { all: true }).catch(() => [])).map((a) => a.address);
    if (!addresses.length || !addresses.every((a) => !isGlobalUnicast(a))) return t.skip(`${name} does not resolve to a local address here`);
    for (const host of [name, `${name}.`]) {
      const res = await post('/describeImage', JSON.stringify({ data: { imageUrl: `https://${host}/a.png` } }));
      assert.equal(res.status, 400, `${host}: ${await res.text()}`);
    }
  });

  it('gRPC: INVALID_ARGUMENT for NAT64 and 6to4 metadata addresses', async () => {
    for (const imageUrl of ['https://[64:ff9b::a9fe:a9fe]/', 'https://[2002:a9fe:a9fe::]/']) {
      await assert.rejects(callUnary(client, 'describeImage', { imageUrl }, { metadata: AUTH }), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
    }
  });

  it('still serves public addresses, embedded ones included', async () => {
    for (const imageUrl of ['https://[2606:4700::1111]/a.png', 'https://[64:ff9b::808:808]/a.png', 'https://8.8.8.8/a.png']) {
      const res = await post('/describeImage', JSON.stringify({ data: { imageUrl } }));
      assert.equal(res.status, 200, `${imageUrl}: ${await res.text()}`);
    }
  });
});

/** grpc.reflection.v1 ServerReflectionInfo with `list_services: "*"` (field 7), raw bytes in and out. */
function listServices(metadata: Record<string, string>): Promise<{ code: number; body: string }> {
  const raw = new Client(`127.0.0.1:${proc.grpcPort}`, credentials.createInsecure());
  const md = new Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    let body = '';
    const call = raw.makeBidiStreamRequest(
      '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      (b: Buffer) => b,
      (b: Buffer) => b,
      md,
    );
    call.on('data', (b: Buffer) => {
      body += b.toString('latin1');
      call.end();
    });
    call.on('error', () => undefined);
    call.on('status', (s: { code: number }) => {
      raw.close();
      resolve({ code: s.code, body });
    });
    call.write(Buffer.from([0x3a, 0x01, 0x2a]));
  });
}

describe('item 10: with API_KEYS, the API description needs the key; /health says little without it', () => {
  it('/openapi.json and /docs: 401 without a key (Basic challenge), 200 with Bearer or with the key as the Basic password', async () => {
    for (const path of ['/openapi.json', '/docs/', '/docs/init.js']) {
      const anonymous = await fetch(`${base}${path}`);
      assert.equal(anonymous.status, 401, path);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      assert.doesNotMatch(await anonymous.text(), /openapi|swagger/i);
      assert.equal((await fetch(`${base}${path}`, { headers: { authorization: 'Bearer wrong' } })).status, 401, `${path} wrong key`);
    }
    const withBearer = await fetch(`${base}/openapi.json`, { headers: AUTH });
    assert.equal(withBearer.status, 200);
    assert.equal(((await withBearer.json()) as { openapi: string }).openapi, '3.1.0');
    const basic = `Basic ${Buffer.from(`anyone:${KEY}`).toString('base64')}`;
    const page = await fetch(`${base}/docs/`, { headers: { authorization: basic } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /swagger-ui/);
  });

  it('a browser opens /docs with the key as its Basic password, and the page loads /openapi.json', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const page = await browser.newPage({ httpCredentials: { username: 'operator', password: KEY } });
      const documentStatus = page.waitForResponse((r) => r.url().endsWith('/openapi.json')).then((r) => r.status());
      await page.goto(`${base}/docs/`);
      await page.waitForSelector('.opblock', { timeout: 15_000 });
      assert.equal(await documentStatus, 200);
    } finally {
      await browser.close();
    }
  });

  it('/health: only the status without a key; the detail with one', async () => {
    const anonymous = await fetch(`${base}/health`);
    assert.equal(anonymous.status, 200);
    assert.deepEqual(await anonymous.json(), { status: 'ok' });
    const wrong = await fetch(`${base}/health`, { headers: { authorization: 'Bearer wrong' } });
    assert.deepEqual(await wrong.json(), { status: 'ok' });
    const detailed = (await (await fetch(`${base}/health`, { headers: AUTH })).json()) as Record<string, unknown>;
    assert.equal(detailed.status, 'ok');
    assert.equal(detailed.offline, true);
    assert.equal(typeof detailed.model, 'string');
    assert.ok('circuit' in detailed && 'eventLoop' in detailed);
  });

  it('gRPC reflection: UNAUTHENTICATED without a key, the service list with one', async () => {
    const anonymous = await listServices({});
    assert.equal(anonymous.code, status.UNAUTHENTICATED);
    assert.doesNotMatch(anonymous.body, /FlowService/);
    const withKey = await listServices(AUTH);
    assert.equal(withKey.code, status.OK);
    assert.match(withKey.body, /genkit\.flows\.v1\.FlowService/);
  });
});
