import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { callUnary, flowClient } from './support/grpc-client.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';
import { until } from './support/until.js';

/**
 * WEB_CONCURRENCY=2 (node:cluster) on the real `main.ts`: a primary and two
 * workers on the same REST and gRPC ports, one rate-limit budget for both
 * (no Redis), a killed worker replaced, SIGTERM draining both and exit 0.
 */

interface Health {
  workers: { serving: number; configured: number };
}

/** A request on a fresh connection each time (no agent), so the primary's round-robin spreads them over the workers. */
function call(port: number, path: string, body?: string): Promise<{ status: number; json(): unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (part: string) => (text += part));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(text) as unknown }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('WEB_CONCURRENCY=2', () => {
  let proc: ServerProcess | undefined;
  after(() => {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
  });

  it('runs a primary and two workers on shared ports with one budget; replaces a killed worker; SIGTERM drains both, exit 0', async () => {
    proc = await startServerProcess({ WEB_CONCURRENCY: '2', RATE_LIMIT: '4/minute', SHUTDOWN_GRACE_MS: '5000' });
    const { restPort, grpcPort, logs } = proc;
    const primaryPid = proc.child.pid;
    const workerPids = () => [...new Set(logs.filter((l) => /^Worker \d+ serving$/.test(String(l.msg))).map((l) => l.workerPid))];
    await until('both workers serving', () => workerPids().length === 2);
    assert.ok(logs.some((l) => l.msg === 'Primary starting 2 workers' && l.pid === primaryPid));
    const listening = logs.filter((l) => String(l.msg).startsWith('REST listening'));
    await until('both workers listening', () => logs.filter((l) => String(l.msg).startsWith('REST listening')).length === 2);
    assert.ok(listening.every((l) => l.port === restPort && l.pid !== primaryPid), 'workers, not the primary, listen, all on one port');
    await until('/health to report two workers', async () => ((await call(restPort, '/health')).json() as Health).workers.serving === 2);

    // One budget: 4 calls spread over both workers, then 429 on either, and on gRPC.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await call(restPort, '/tellJoke', '{"data":{}}')).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    const answered = () => logs.filter((l) => /^POST \/tellJoke (200|429)$/.test(String(l.msg)));
    await until('access lines', () => answered().length === 6);
    assert.equal(new Set(answered().map((l) => l.worker)).size, 2, 'both workers answered calls counted against the one budget');
    const client = flowClient(grpcPort);
    await assert.rejects(callUnary(client, 'tellJoke', {}), (e: ServiceError) => e.code === status.RESOURCE_EXHAUSTED);
    client.close();

    // A worker killed outright is replaced.
    const [victim] = workerPids() as number[];
    process.kill(victim!, 'SIGKILL');
    await until('a replacement worker', () => workerPids().length === 3);
    assert.ok(logs.some((l) => String(l.msg).includes('died: starting a new one') && l.pid === primaryPid));
    await until('/health to report two workers again', async () => ((await call(restPort, '/health')).json() as Health).workers.serving === 2);

    // SIGTERM on the primary drains every worker, then the primary exits 0.
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
    const live = workerPids().filter((pid) => pid !== victim);
    for (const pid of live) assert.ok(logs.some((l) => l.msg === 'Stopped' && l.pid === pid), `worker ${String(pid)} drained`);
    assert.ok(logs.some((l) => l.msg === 'Stopped' && l.pid === primaryPid));
  });
});
