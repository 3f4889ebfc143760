import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import { resolveClientIp } from '../rest/middleware/client-ip.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** Express's own compiled 'trust proxy' function for a TRUST_PROXY value. */
function trustFn(value: boolean | number | string[]) {
  return express().set('trust proxy', value).get('trust proxy fn') as (address: string, hop: number) => boolean;
}

describe('resolveClientIp(): only valid IPs from trusted hops', () => {
  it('takes the claimed client when every hop is a valid IP (TRUST_PROXY=true)', () => {
    assert.equal(resolveClientIp('10.0.0.5', '203.0.113.7, 10.0.0.9', trustFn(true)), '203.0.113.7');
  });

  it('falls back to the socket address when the nearest entry is not an IP', () => {
    for (const junk of ['not-an-ip', 'a'.repeat(7000), '1.2.3.4:80', '[::1]', '0x7f.1', '', 'unknown']) {
      assert.equal(resolveClientIp('10.0.0.5', junk, trustFn(true)), '10.0.0.5', JSON.stringify(junk.slice(0, 20)));
    }
  });

  it('stops at the first invalid entry: the last valid address on the trusted chain', () => {
    assert.equal(resolveClientIp('10.0.0.5', 'not-an-ip, 198.51.100.1', trustFn(true)), '198.51.100.1');
  });

  it('honours a hop count and a proxy list like Express does', () => {
    assert.equal(resolveClientIp('10.0.0.5', '203.0.113.7, 198.51.100.1', trustFn(1)), '198.51.100.1');
    assert.equal(resolveClientIp('10.0.0.5', '203.0.113.7, 198.51.100.1', trustFn(2)), '203.0.113.7');
    assert.equal(resolveClientIp('10.0.0.5', '203.0.113.7', trustFn(['10.0.0.0/8'])), '203.0.113.7');
    assert.equal(resolveClientIp('192.0.2.9', '203.0.113.7', trustFn(['10.0.0.0/8'])), '192.0.2.9', 'an untrusted socket is the client');
    assert.equal(resolveClientIp('10.0.0.5', '203.0.113.7', trustFn(false)), '10.0.0.5');
  });

  it('spells each address one way, so one address has one budget', () => {
    assert.equal(resolveClientIp('10.0.0.5', '::ffff:203.0.113.7', trustFn(true)), '203.0.113.7');
    assert.equal(resolveClientIp('10.0.0.5', '2001:DB8:0:0::1', trustFn(true)), '2001:db8::1');
  });
});

describe('TRUST_PROXY=true on the real server: junk X-Forwarded-For gets no budget of its own', () => {
  async function call(server: TestServer, forwardedFor: string): Promise<number> {
    const res = await fetch(`${server.baseUrl}/tellJoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      body: '{"data":{}}',
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('"not-an-ip" and 7 KB of "a" share the socket address\'s budget and are never logged; a valid IP gets its own', async () => {
    const server = await startTestServer({ TRUST_PROXY: 'true', RATE_LIMIT: '3/minute' });
    try {
      const junk = ['not-an-ip', 'a'.repeat(7 * 1024), 'bbbb', 'cccc'];
      const statuses = [];
      for (const value of junk) statuses.push(await call(server, value));
      assert.deepEqual(statuses, [200, 200, 200, 429], 'one budget for all junk values');
      assert.equal(await call(server, '203.0.113.7'), 200, 'a valid forwarded address has its own budget');

      const access = server.logs.lines.filter((l) => (l.req as { path?: string } | undefined)?.path === '/tellJoke');
      assert.deepEqual(
        access.map((l) => (l.req as { clientIp: string }).clientIp),
        ['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1', '203.0.113.7'],
      );
      const raw = server.logs.raw.join('\n');
      assert.ok(!raw.includes('not-an-ip') && !raw.includes('aaaaaaaa'), 'X-Forwarded-For text never reaches the log');
    } finally {
      await server.close();
    }
  });
});
