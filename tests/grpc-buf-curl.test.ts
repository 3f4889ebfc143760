import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BUF } from '../grpc/generated-paths.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/**
 * Health and reflection, driven by a client we did not write: `buf curl`
 * (it learns the schema through server reflection, built from the buf
 * descriptor set).
 */

const run = promisify(execFile);

async function bufCurl(port: number, args: string[]): Promise<string> {
  const { stdout } = await run(BUF, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args.map((a) => a.replace('{port}', String(port)))], {
    timeout: 20_000,
  });
  return stdout;
}

/** buf curl prints one pretty JSON document per message; this splits them. */
function documents(stdout: string): unknown[] {
  return stdout
    .split(/\n(?=\{)/)
    .filter((d) => d.trim())
    .map((d) => JSON.parse(d));
}

describe('gRPC reflection and health through buf curl', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ GRPC_REFLECTION: 'true' });
  });
  after(async () => {
    await server.close();
  });

  it('lists the services', async () => {
    const services = (await bufCurl(server.grpcPort!, ['--list-services', 'http://127.0.0.1:{port}'])).trim().split('\n').sort();
    assert.deepEqual(services, ['genkit.flows.v1.FlowService', 'grpc.health.v1.Health']);
  });

  it('lists every RPC of FlowService', async () => {
    const methods = (await bufCurl(server.grpcPort!, ['--list-methods', 'http://127.0.0.1:{port}']))
      .trim()
      .split('\n')
      .filter((m) => m.startsWith('genkit.flows.v1.FlowService/'));
    assert.deepEqual(
      methods.map((m) => m.split('/')[1]).sort(),
      ['DescribeImage', 'GenerateCharacter', 'GenerateCode', 'PirateChat', 'ReviewCode', 'TellJoke', 'TellJokeStream', 'TellStory', 'TellStoryStream', 'TranslateText'],
    );
  });

  it('calls a unary RPC from JSON (enum values by name)', async () => {
    const [joke] = documents(await bufCurl(server.grpcPort!, ['-d', '{"name":"Ada"}', 'http://127.0.0.1:{port}/genkit.flows.v1.FlowService/TellJoke']));
    assert.match((joke as { joke: string }).joke, /Ada/);
    const [translation] = documents(
      await bufCurl(server.grpcPort!, ['-d', '{"text":"hi"}', 'http://127.0.0.1:{port}/genkit.flows.v1.FlowService/TranslateText']),
    );
    assert.match((translation as { confidence: string }).confidence, /^CONFIDENCE_(HIGH|MEDIUM|LOW)$/);
  });

  it('calls a streaming RPC: chunks, then one result', async () => {
    const messages = documents(
      await bufCurl(server.grpcPort!, ['-d', '{"topic":"owls"}', 'http://127.0.0.1:{port}/genkit.flows.v1.FlowService/TellStoryStream']),
    ) as { chunk?: string; result?: { story: string } }[];
    assert.ok(messages.length >= 3);
    assert.ok(messages.slice(0, -1).every((m) => typeof m.chunk === 'string'));
    assert.equal(messages.at(-1)!.result?.story, messages.slice(0, -1).map((m) => m.chunk).join('\n\n'));
  });

  it('reports SERVING for "" and for the flow service', async () => {
    for (const service of ['', 'genkit.flows.v1.FlowService']) {
      const [health] = documents(
        await bufCurl(server.grpcPort!, ['-d', JSON.stringify({ service }), 'http://127.0.0.1:{port}/grpc.health.v1.Health/Check']),
      );
      assert.deepEqual(health, { status: 'SERVING' });
    }
  });
});

describe('gRPC reflection is off by default', () => {
  it('answers reflection requests with unimplemented, while health still works', async () => {
    const server = await startTestServer();
    try {
      await assert.rejects(bufCurl(server.grpcPort!, ['--list-services', 'http://127.0.0.1:{port}']), /unimplemented/i);
      const schema = 'node_modules/grpc-health-check/proto/health/v1/health.proto';
      const [health] = documents(
        await bufCurl(server.grpcPort!, ['--schema', schema, '-d', '{"service":""}', 'http://127.0.0.1:{port}/grpc.health.v1.Health/Check']),
      );
      assert.deepEqual(health, { status: 'SERVING' });
    } finally {
      await server.close();
    }
  });
});
