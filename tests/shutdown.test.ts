import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { credentials, makeGenericClientConstructor, status, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { callStream, callUnary, collect, flowClient } from './support/grpc-client.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * Graceful shutdown of the real process (`tsx main.ts`): SIGTERM while a slow
 * streaming REST call and a slow streaming RPC are in flight. Both must
 * complete, new calls must be refused, health must turn NOT_SERVING, and the
 * process must exit 0.
 */

/** Reads an SSE response as it arrives; resolves `firstChunk` at the first event. */
function readStream(res: Response) {
  let firstChunk!: () => void;
  const started = new Promise<void>((resolve) => (firstChunk = resolve));
  const done = (async () => {
    let text = '';
    const decoder = new TextDecoder();
    for await (const part of res.body!) {
      text += decoder.decode(part as Uint8Array, { stream: true });
      if (text.includes('data: ')) firstChunk();
    }
    return text;
  })();
  return { started, done };
}

describe('graceful shutdown on SIGTERM', () => {
  let proc: ServerProcess | undefined;
  after(() => {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
  });

  it('finishes in-flight REST and gRPC streams, refuses new calls, reports NOT_SERVING, exits 0', async () => {
    proc = await startServerProcess({ OFFLINE_MODEL_LATENCY_MS: '60', SHUTDOWN_GRACE_MS: '8000' });
    const { restPort, grpcPort } = proc;

    const Health = makeGenericClientConstructor(healthService as never, 'Health');
    const health = new Health(`127.0.0.1:${grpcPort}`, credentials.createInsecure()) as unknown as {
      watch(request: object): NodeJS.EventEmitter & { cancel(): void };
      close(): void;
    };
    const watched: string[] = [];
    const watch = health.watch({ service: 'genkit.flows.v1.FlowService' });
    const notServing = new Promise<void>((resolve) => {
      watch.on('data', (m: { status: string }) => {
        watched.push(m.status);
        if (m.status === 'NOT_SERVING') {
          watch.cancel();
          resolve();
        }
      });
      watch.on('error', () => undefined);
    });

    const rest = readStream(
      await fetch(`http://127.0.0.1:${restPort}/tellStory?stream=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: { topic: 'a night watch' } }),
      }),
    );
    const client = flowClient(grpcPort);
    const rpcStream = callStream(client, 'tellStoryStream', { topic: 'a night watch' });
    const rpcFirst = new Promise<void>((resolve) => rpcStream.once('data', () => resolve()));
    const rpcMessages = collect(rpcStream);
    await Promise.all([rest.started, rpcFirst]);

    proc.child.kill('SIGTERM');
    await notServing;
    assert.deepEqual(watched, ['SERVING', 'NOT_SERVING']);

    // New calls are refused while the in-flight ones finish.
    await assert.rejects(
      fetch(`http://127.0.0.1:${restPort}/health`),
      (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'ECONNREFUSED',
    );
    const late = flowClient(grpcPort);
    await assert.rejects(callUnary(late, 'tellJoke', {}, { deadlineMs: 2000 }), (e: ServiceError) =>
      [status.UNAVAILABLE, status.DEADLINE_EXCEEDED].includes(e.code),
    );
    late.close();

    const restText = await rest.done;
    const restEvents = restText.split('\n\n').filter(Boolean);
    assert.ok(restEvents.length >= 4, `REST got ${restEvents.length} events`);
    assert.match(restEvents.at(-1)!, /^data: \{"result":\{"story":/);

    const messages = (await rpcMessages) as { chunk?: string; result?: { story: string } }[];
    assert.ok(messages.length >= 4);
    assert.ok(messages.at(-1)!.result?.story.includes('a night watch'));
    client.close();
    health.close();

    assert.equal(await proc.exited, 0);
    assert.ok(proc.logs.some((l) => l.msg === 'Stopped'));
  });
});
