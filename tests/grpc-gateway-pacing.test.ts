import assert from 'node:assert/strict';
import { credentials, Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { ActionContext } from 'genkit';
import type { RequestData } from 'genkit/context';
import { once } from 'node:events';
import { connect, constants } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { FlowServiceClient, FlowServiceService, TellJokeRequest as TellJokeRequestCodec, type TellJokeRequest, type TellJokeResponse } from '../generated/ts/genkit/flows/v1/flows.js';
import { callStateOf, gatewayInterceptor } from '../grpc/call-gateway.js';
import { createAdmissionPacer, type AdmissionPacer } from '../server/admission-pacer.js';
import { createLogger } from '../server/logger.js';
import { createRateLimiter } from '../server/rate-limiter.js';
import { frame } from './support/raw-h2.js';
import { LogCapture } from './support/test-server.js';

/**
 * The gateway interceptor paces new calls as their metadata arrives, before
 * any of its own work (span, limiter, auth) and before the handler: a burst
 * of HTTP/2 streams read in one socket read starts at most `perTurn` calls
 * per event-loop turn. A real grpc-js server and client; the context
 * provider (what the gateway runs once per admitted call) records the
 * event-loop turn it ran in.
 */

const PER_TURN = 4;

interface Fixture {
  client: FlowServiceClient;
  pacer: AdmissionPacer;
  /** Turn number (counted by a setImmediate chain) of each context-provider run, by name. */
  admittedAt: Map<string, number>;
  /** Names whose call reached the service handler. */
  handled: Set<string>;
  logs: LogCapture;
  port: number;
}

function useGateway(): () => Fixture {
  let server: Server;
  let fixture: Fixture;
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  before(async () => {
    setImmediate(tick);
    const logs = new LogCapture();
    const pacer = createAdmissionPacer(PER_TURN);
    const admittedAt = new Map<string, number>();
    const handled = new Set<string>();
    server = new Server({
      interceptors: [
        gatewayInterceptor({
          logger: createLogger({ level: 'info', destination: logs }),
          limiter: createRateLimiter({ points: 1_000_000, durationSeconds: 60 } as Parameters<typeof createRateLimiter>[0]),
          contextProvider: (request: RequestData): ActionContext => {
            admittedAt.set(String(request.headers['x-name']), turn);
            return {};
          },
          isExempt: () => false,
          isDraining: () => false,
          pacer,
        }),
      ],
    });
    server.addService(
      { tellJoke: FlowServiceService.tellJoke },
      {
        tellJoke: (call: ServerUnaryCall<TellJokeRequest, TellJokeResponse>, callback: sendUnaryData<TellJokeResponse>) => {
          assert.ok(callStateOf(call.metadata), 'the gateway settled the call before the handler');
          handled.add(String(call.metadata.get('x-name')[0]));
          callback(null, { joke: `for ${call.request.name}` });
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, bound) => (e ? reject(e) : resolve(bound))),
    );
    fixture = { client: new FlowServiceClient(`127.0.0.1:${port}`, credentials.createInsecure()), pacer, admittedAt, handled, logs, port };
  });
  after(async () => {
    ticking = false;
    fixture.client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });
  return () => fixture;
}

function tellJoke(client: FlowServiceClient, name: string, deadlineMs = 10_000): Promise<{ code: number; joke?: string }> {
  const metadata = new Metadata();
  metadata.set('x-name', name);
  return new Promise((resolve) =>
    client.tellJoke({ name }, metadata, { deadline: Date.now() + deadlineMs }, (e, response) =>
      resolve(e ? { code: e.code ?? status.UNKNOWN } : { code: status.OK, joke: response?.joke }),
    ),
  );
}

describe('gRPC gateway pacing', () => {
  const fixture = useGateway();

  it('starts a burst of calls at most PER_TURN per event-loop turn, in arrival order, and answers every one', async () => {
    const { client, admittedAt } = fixture();
    await tellJoke(client, 'warm'); // the connection is open before the burst
    const names = Array.from({ length: 60 }, (_, i) => `burst-${i}`);
    const results = await Promise.all(names.map((name) => tellJoke(client, name)));
    assert.deepEqual(
      results.map((r) => r.code),
      names.map(() => status.OK),
    );
    assert.equal(results[7]!.joke, 'for burst-7');
    const perTurn = new Map<number, number>();
    for (const name of names) perTurn.set(admittedAt.get(name)!, (perTurn.get(admittedAt.get(name)!) ?? 0) + 1);
    assert.ok(Math.max(...perTurn.values()) <= PER_TURN, `calls admitted in one turn: ${JSON.stringify([...perTurn])}`);
    assert.ok(perTurn.size >= names.length / PER_TURN, `the burst spread over ${perTurn.size} turns`);
    const turns = names.map((name) => admittedAt.get(name)!);
    assert.deepEqual(turns, [...turns].sort((a, b) => a - b), 'admitted in arrival order');
  });

  it('a call its client resets right after sending it never reaches auth or the handler (the rapid-reset check flowService relies on)', async () => {
    const { port, admittedAt, handled } = fixture();
    const session = connect(`http://127.0.0.1:${port}`);
    await once(session, 'connect');
    // HEADERS, DATA and RST_STREAM back to back, as a rapid-reset client sends them: submitted in one tick,
    // they leave in one write, and the server reads the reset in the same poll phase as the call.
    const names = Array.from({ length: 20 }, (_, i) => `reset-${i}`);
    for (const name of names) {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/genkit.flows.v1.FlowService/TellJoke',
        'content-type': 'application/grpc',
        te: 'trailers',
        'x-name': name,
      });
      stream.on('error', () => undefined);
      stream.end(frame(TellJokeRequestCodec.encode({ name }).finish()));
      stream.close(constants.NGHTTP2_CANCEL);
    }
    // A call sent after them on the same connection is answered: the server read past the resets.
    const after = session.request({ ':method': 'POST', ':path': '/genkit.flows.v1.FlowService/TellJoke', 'content-type': 'application/grpc', te: 'trailers', 'x-name': 'after' });
    after.end(frame(TellJokeRequestCodec.encode({ name: 'after' }).finish()));
    after.resume();
    await once(after, 'close');
    session.close();
    assert.ok(handled.has('after'), 'the call after the resets was served');
    assert.deepEqual(names.filter((name) => admittedAt.has(name) || handled.has(name)), [], 'no reset call reached auth or the handler');
  });

  it('a call whose deadline passes while the pacer holds it ends DEADLINE_EXCEEDED and never reaches auth or the handler', async () => {
    const { client, pacer, admittedAt, logs } = fixture();
    // Hold the pacer for three turns: queued starts of 15 ms each, PER_TURN of them per turn. The call
    // arrives behind them, and its 30 ms deadline passes while they run.
    for (let i = 0; i < 3 * PER_TURN; i++) {
      pacer.admit(() => {
        const until = Date.now() + 15;
        while (Date.now() < until);
      });
    }
    const result = await tellJoke(client, 'held', 30);
    assert.equal(result.code, status.DEADLINE_EXCEEDED);
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(admittedAt.has('held'), false, 'the held call was never admitted');
    const line = logs.lines.find((l) => l.rpc === '/genkit.flows.v1.FlowService/TellJoke' && l.status === 'DEADLINE_EXCEEDED');
    assert.ok(line, 'the held call got its access line');
  });
});
