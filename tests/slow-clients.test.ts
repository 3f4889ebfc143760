import assert from 'node:assert/strict';
import { Agent, get, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServerProcess, type ServerProcess } from './support/server-process.js';
import { rssMiB } from './support/process-stats.js';

/**
 * Issue 15 item 3 and issue 13's server timeouts, on the real process: slow
 * or silent clients are cut off by HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS
 * (408), MAX_CONNECTIONS_PER_IP refuses the connections over the cap at once,
 * and an idle keep-alive connection still works after 10 s (the default
 * KEEP_ALIVE_TIMEOUT_MS is 65 s, above load balancers' 60 s idle timeout).
 */

const HEADERS_MS = 1000;
const REQUEST_MS = 1500;
const PER_IP = 100;
const SLOW_CLIENTS = 300;

let proc: ServerProcess | undefined;
after(() => {
  if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
});

interface Watched {
  socket: Socket;
  /** ms from open to close, once closed. */
  closedAfter: Promise<number>;
  received: () => string;
}

function open(port: number, onConnect: (socket: Socket) => void): Watched {
  const started = performance.now();
  const socket = connect(port, '127.0.0.1', () => onConnect(socket));
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closedAfter = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - started)));
  return { socket, closedAfter, received: () => text };
}

/** Sends `chunks` one every `everyMs` until the socket closes. */
function trickle(socket: Socket, chunks: string[], everyMs: number): void {
  const timer = setInterval(() => {
    const next = chunks.shift();
    if (next === undefined || socket.destroyed) clearInterval(timer);
    else socket.write(next);
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

function keepAlivePost(agent: Agent, port: number): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/tellJoke', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end('{"data":{}}');
  });
}

describe('slow clients and server timeouts', () => {
  it('cuts silent, slow-header and slow-body clients with 408, caps connections per IP, keeps idle keep-alive sockets for 10 s', async () => {
    proc = await startServerProcess({
      HEADERS_TIMEOUT_MS: String(HEADERS_MS),
      REQUEST_TIMEOUT_MS: String(REQUEST_MS),
      MAX_CONNECTIONS_PER_IP: String(PER_IP),
      RATE_LIMIT: '100000/second',
    });
    const port = proc.restPort;
    const rssBefore = await rssMiB(proc.child.pid!);

    // Idle keep-alive: one request now, the next on the same socket after 10 s (runs alongside the rest).
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await keepAlivePost(agent, port);
    const idleCheck = sleep(10_000).then(() => keepAlivePost(agent, port));

    const silent = open(port, () => undefined);
    const slowHeaders = open(port, (s) => trickle(s, ['POST /tellJoke HTTP/1.1\r\n', 'Host: x\r\n', ...Array(50).fill('X-Slow: 1\r\n')], 200));
    const slowBody = open(port, (s) => {
      s.write('POST /tellJoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n');
      trickle(s, Array(200).fill(' '), 200);
    });
    const timed = [silent, slowHeaders, slowBody];

    // A flood of slow-body clients from one address: the cap refuses the excess at once.
    const flood: Watched[] = [];
    for (let i = 0; i < SLOW_CLIENTS; i++) {
      flood.push(
        open(port, (s) => {
          s.write('POST /tellJoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
          trickle(s, Array(1000).fill(' '), 250);
        }),
      );
    }
    let rssPeak = rssBefore;
    const healthMs: number[] = [];
    const sampling = (async () => {
      const until = performance.now() + REQUEST_MS + 1500;
      while (performance.now() < until) {
        rssPeak = Math.max(rssPeak, await rssMiB(proc!.child.pid!));
        const t = performance.now();
        // From another loopback address: the per-IP cap holds the flood's address only.
        await new Promise<void>((resolve, reject) => {
          get({ host: '127.0.0.1', port, path: '/health', localAddress: '127.0.0.2', agent: false }, (res) => {
            res.resume();
            res.on('end', resolve);
          }).on('error', reject);
        });
        healthMs.push(performance.now() - t);
        await sleep(100);
      }
    })();

    const closedAfter = await Promise.all(timed.map((w) => w.closedAfter));
    for (const [i, w] of timed.entries()) {
      assert.match(w.received(), /^HTTP\/1\.1 408 Request Timeout/, `client ${i} got: ${w.received().slice(0, 40)}`);
    }
    // Silent and slow-header clients: headers timeout; slow body: request timeout (checked every ≤ 250 ms here).
    assert.ok(closedAfter[0]! < HEADERS_MS + 1500 && closedAfter[1]! < HEADERS_MS + 1500, `closed after ${closedAfter.map(Math.round)}`);
    assert.ok(closedAfter[2]! >= REQUEST_MS - 100 && closedAfter[2]! < REQUEST_MS + 1500, `closed after ${closedAfter.map(Math.round)}`);

    const floodClosed = await Promise.all(flood.map((w) => w.closedAfter));
    // Refused: closed with no answer, well before any timeout could have fired.
    const refusedAtOnce = floodClosed.filter((ms, i) => ms < HEADERS_MS && flood[i]!.received() === '').length;
    const timedOut = flood.filter((w) => w.received().startsWith('HTTP/1.1 408')).length;
    assert.ok(refusedAtOnce >= SLOW_CLIENTS - PER_IP, `refused at once: ${refusedAtOnce}`);
    assert.ok(timedOut > 0 && timedOut <= PER_IP, `timed out with 408: ${timedOut}`);
    assert.ok(Math.max(...floodClosed) < REQUEST_MS + 2500, `last slow client closed after ${Math.round(Math.max(...floodClosed))} ms`);
    await sampling;
    assert.ok(Math.max(...healthMs) < 1000, `/health max ${Math.round(Math.max(...healthMs))} ms during the flood`);

    const second = await idleCheck;
    assert.deepEqual([first.status, second.status, second.reused], [200, 200, true]);
    agent.destroy();
    console.log(
      `slow clients: rss ${rssBefore} → peak ${rssPeak} MiB, /health max ${Math.round(Math.max(...healthMs))} ms, ${refusedAtOnce} refused by the per-IP cap, ${timedOut} cut with 408`,
    );
    assert.equal(await proc.stop(), 0);
  });
});
