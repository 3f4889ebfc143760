import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { GenkitError } from 'genkit';
import type { FlowServiceClient } from '../generated/ts/genkit/flows/v1/flows.js';
import { checkImageUrl, type ImageUrlPolicy } from '../flows/image-url-guard.js';
import { callUnary, useServerWithClient } from './support/grpc-client.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** Every blocked address class, in the notations an attacker would try. */
const BLOCKED_URLS = [
  'https://127.0.0.1/a.png',
  'https://127.1.2.3/a.png',
  'https://2130706433/a.png', // decimal 127.0.0.1
  'https://0x7f.0.0.1/a.png', // hex
  'https://0177.0.0.1/a.png', // octal
  'https://10.0.0.1/a.png',
  'https://172.16.5.4/a.png',
  'https://172.31.255.255/a.png',
  'https://192.168.1.1/a.png',
  'https://169.254.169.254/latest/meta-data/',
  'https://100.64.0.1/a.png',
  'https://0.0.0.0/a.png',
  'https://[::1]/a.png',
  'https://[::]/a.png',
  'https://[fc00::1]/a.png',
  'https://[fd00:ec2::254]/a.png',
  'https://[fe80::1]/a.png',
  'https://[::ffff:127.0.0.1]/a.png',
  'https://[::ffff:10.0.0.1]/a.png',
  'https://[::ffff:a9fe:a9fe]/a.png', // 169.254.169.254, IPv4-mapped in hex
  'https://localhost/a.png',
  'https://LOCALHOST./a.png',
  'https://api.localhost/a.png',
  'https://metadata.google.internal/computeMetadata/v1/',
  'https://metadata.google.internal./computeMetadata/v1/',
  // Only global unicast passes: IPv4 embedded in IPv6 is judged as IPv4, other special ranges are out.
  'https://[::127.0.0.1]/a.png', // IPv4-compatible
  'https://[::ffff:0:7f00:1]/a.png', // IPv4-translated
  'https://[64:ff9b::7f00:1]/a.png', // NAT64
  'https://[64:ff9b::a9fe:a9fe]/a.png',
  'https://[64:ff9b:1::808:808]/a.png', // local-use NAT64, refused whole
  'https://[2002:7f00:1::]/a.png', // 6to4
  'https://[2002:a9fe:a9fe::]/a.png',
  'https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/a.png', // Teredo, client 127.0.0.1
  'https://[fec0::1]/a.png', // site-local
  'https://[ff02::1]/a.png', // multicast
  'https://[2001:db8::1]/a.png', // documentation
  'https://[100::1]/a.png', // discard
  'https://224.0.0.1/a.png', // multicast
  'https://255.255.255.255/a.png',
  'https://192.0.2.1/a.png', // documentation
  'https://240.0.0.1/a.png', // reserved
];

const policy = (overrides: Partial<ImageUrlPolicy> = {}): ImageUrlPolicy => ({
  allowHttp: false,
  maxDataUrlBytes: 1024,
  resolve: async () => {
    throw new Error('no DNS in this test');
  },
  ...overrides,
});

const isInvalid = (e: unknown) => e instanceof GenkitError && e.status === 'INVALID_ARGUMENT';

describe('checkImageUrl()', () => {
  for (const url of BLOCKED_URLS) {
    it(`rejects ${url}`, async () => {
      await assert.rejects(checkImageUrl(url, policy()), isInvalid);
    });
  }

  it('rejects a name that resolves to a private address (any of its addresses)', async () => {
    const resolve = async (host: string) => (host === 'intranet.example' ? ['93.184.216.34', '10.1.2.3'] : []);
    await assert.rejects(checkImageUrl('https://intranet.example/a.png', policy({ resolve })), /resolves to a private/);
  });

  it('resolves a name without its trailing dot (`vm.` is `vm`, which /etc/hosts may map to loopback)', async () => {
    const asked: string[] = [];
    const resolve = async (host: string) => (asked.push(host), host === 'vm' ? ['127.0.0.1'] : []);
    await assert.rejects(checkImageUrl('https://vm./a.png', policy({ resolve })), /resolves to a private/);
    await assert.rejects(checkImageUrl('https://vm../a.png', policy({ resolve })), /resolves to a private/);
    assert.deepEqual(asked, ['vm', 'vm']);
  });

  it('accepts public addresses, also when embedded in IPv6 (NAT64, 6to4, IPv4-mapped)', async () => {
    for (const url of ['https://8.8.8.8/a.png', 'https://[2606:4700::1111]/a.png', 'https://[64:ff9b::808:808]/a.png', 'https://[2002:808:808::1]/a.png', 'https://[::ffff:8.8.8.8]/a.png']) {
      await checkImageUrl(url, policy());
    }
  });

  it('accepts a name that resolves to public addresses, and one that does not resolve', async () => {
    await checkImageUrl('https://images.example/a.png', policy({ resolve: async () => ['93.184.216.34', '2606:2800:220:1::1'] }));
    await checkImageUrl('https://images.example/a.png', policy());
  });

  it('passes a name on when DNS does not answer in time', async () => {
    const started = Date.now();
    await checkImageUrl('https://slow.example/a.png', policy({ resolve: () => new Promise(() => undefined), dnsTimeoutMs: 50 }));
    assert.ok(Date.now() - started < 1000);
  });

  it('accepts only https, plus http in debug', async () => {
    await assert.rejects(checkImageUrl('http://images.example/a.png', policy()), /must use https/);
    await checkImageUrl('http://images.example/a.png', policy({ allowHttp: true }));
    await assert.rejects(checkImageUrl('ftp://images.example/a.png', policy({ allowHttp: true })), /must use https or http/);
    await assert.rejects(checkImageUrl('file:///etc/passwd', policy({ allowHttp: true })), isInvalid);
  });

  it('accepts data: image URLs up to the size limit only', async () => {
    await checkImageUrl('data:image/png;base64,iVBORw0KGgo=', policy());
    await assert.rejects(checkImageUrl(`data:image/png;base64,${'A'.repeat(2000)}`, policy()), /exceeds 1024 bytes/);
    await assert.rejects(checkImageUrl('data:text/html,<script>1</script>', policy()), /only data:image/);
  });
});

describe('describeImage refuses internal URLs on both surfaces', () => {
  let server: TestServer;
  let client: FlowServiceClient;
  useServerWithClient(
    () => startTestServer(),
    (s, c) => ((server = s), (client = c)),
  );

  it('REST: 400 INVALID_ARGUMENT for a metadata address', async () => {
    const res = await fetch(`${server.baseUrl}/describeImage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { imageUrl: 'https://169.254.169.254/latest/meta-data/' } }),
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /private, loopback, link-local or metadata/);
  });

  it('gRPC: INVALID_ARGUMENT for a loopback address in decimal notation', async () => {
    await assert.rejects(callUnary(client, 'describeImage', { imageUrl: 'https://2130706433/x.png' }), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
  });

  it('serves the default public image URL without needing network access', async () => {
    const result = (await callUnary(client, 'describeImage', {})) as { imageUrl: string };
    assert.match(result.imageUrl, /^https:\/\/upload\.wikimedia\.org\//);
  });
});
