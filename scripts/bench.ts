import { credentials } from '@grpc/grpc-js';
import os from 'node:os';
import { defineFlows } from '../flows/index.js';
import { FlowServiceClient, TellJokeRequest } from '../generated/ts/genkit/flows/v1/flows.js';
import { createGenkit } from '../genkit.config.js';
import { grpcFrame, grpcLoad, h2loadAvailable, median, restLoad, type LoadResult } from './bench/load.js';
import { scaleOutBench } from './bench/scale-out.js';
import { rssMiB, startListeningScript, startOurServer, type BenchProcess } from './bench/processes.js';
import { measureStartup, startupRow, startupSummary } from './bench/startup.js';

/**
 * `npm run bench [-- --quick]`: what our layers cost, as ratios measured side
 * by side in one run (A and B alternate over rounds; the median is reported).
 * Everything runs on the offline model, on 127.0.0.1, in separate processes.
 */

const quick = process.argv.includes('--quick');
/** `--telemetry`: only case 6 (OTLP export on vs off). */
const telemetryOnly = process.argv.includes('--telemetry');
/** `--scale-out`: only issue 16's cases (scripts/bench/scale-out.ts). */
const scaleOutOnly = process.argv.includes('--scale-out');
const ROUNDS = quick ? 2 : 4;
const SECONDS = quick ? 2 : 5;
const CONCURRENCY = quick ? [1, 64] : [1, 16, 64];
const OPEN_STREAMS = quick ? 300 : 1000;
const SLOW_CHUNK_MS = 400;
const JOKE = JSON.stringify({ data: { name: 'Ada' } });
const FRAME = grpcFrame(TellJokeRequest.encode({ name: 'Ada' }).finish());

const rows: string[][] = [];
const summary: Record<string, number | null> = {};
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  log(`bench${quick ? ' --quick' : ''}: ${os.cpus().length} cores, Node ${process.version}, ${ROUNDS} rounds × ${SECONDS} s`);
  if (scaleOutOnly) {
    await scaleOutBench({ rounds: ROUNDS, seconds: SECONDS, rows, summary, log });
    printTable();
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  if (telemetryOnly) {
    await telemetryOverhead();
    printTable();
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  // Cold start first, on an otherwise idle machine: dist/main.js vs a plain startFlowServer (scripts/bench/startup.ts).
  const cold = await measureStartup(quick ? 3 : 5);
  rows.push(startupRow(cold));
  Object.assign(summary, startupSummary(cold));
  const spawnedAt = performance.now();
  const ours = await startOurServer();
  const startup = await firstServed(ours, spawnedAt);
  const plain = await startListeningScript('scripts/bench/plain-flow-server.ts');
  const handwritten = await startListeningScript('scripts/bench/handwritten-grpc.ts');
  const h2load = await h2loadAvailable();
  if (!h2load) log('h2load not found: gRPC throughput cases skipped (apt-get install nghttp2-client)');
  try {
    await restOverhead(ours, plain);
    if (h2load) await grpcOverhead(ours, handwritten);
    await streaming(ours);
    summary.rss_mb = Math.round(await rssMiB(ours.child.pid!));
    rows.push(['start-up under tsx', `first /health and first RPC ${Math.round(startup)} ms after spawn`, `RSS after load ${summary.rss_mb} MiB`]);
  } finally {
    await Promise.all([ours.stop(), plain.stop(), handwritten.stop()]);
  }
  await manySlowStreams();
  await telemetryOverhead();
  printTable();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** 1. Our full REST stack vs a plain startFlowServer, same flow and input. */
async function restOverhead(ours: BenchProcess, plain: BenchProcess): Promise<void> {
  const oursUrl = `http://127.0.0.1:${ours.ports.rest}/tellJoke`;
  const plainUrl = `http://127.0.0.1:${plain.ports.port}/tellJoke`;
  await restLoad(oursUrl, JOKE, 16, 1);
  await restLoad(plainUrl, JOKE, 16, 1);
  for (const c of CONCURRENCY) {
    const results = await alternate(
      () => restLoad(oursUrl, JOKE, c, SECONDS),
      () => restLoad(plainUrl, JOKE, c, SECONDS),
    );
    const ratio = median(results.map(([a, b]) => a.rps / b.rps));
    rows.push([`REST c=${c}`, `ours ${fmt(results, 0)}`, `plain ${fmt(results, 1)}`, `ratio ${ratio.toFixed(2)}`]);
    if (c === 64) summary.rest_ratio_c64 = round(ratio);
    if (c === 64) summary.rest_rps_c64 = Math.round(median(results.map(([a]) => a.rps)));
  }
}

/** 2 and 3. Our generated generic gRPC server vs a hand-written one, and gRPC vs REST. */
async function grpcOverhead(ours: BenchProcess, handwritten: BenchProcess): Promise<void> {
  const path = '/genkit.flows.v1.FlowService/TellJoke';
  const oursUrl = `http://127.0.0.1:${ours.ports.grpc}${path}`;
  const handUrl = `http://127.0.0.1:${handwritten.ports.port}${path}`;
  await grpcLoad(oursUrl, FRAME, 16, 1);
  await grpcLoad(handUrl, FRAME, 16, 1);
  for (const c of CONCURRENCY) {
    const results = await alternate(
      () => grpcLoad(oursUrl, FRAME, c, SECONDS),
      () => grpcLoad(handUrl, FRAME, c, SECONDS),
    );
    const ratio = median(results.map(([a, b]) => a.rps / b.rps));
    rows.push([`gRPC c=${c}`, `ours ${fmt(results, 0)}`, `hand-written ${fmt(results, 1)}`, `ratio ${ratio.toFixed(2)}`]);
    if (c === 64) {
      summary.grpc_ratio_c64 = round(ratio);
      const grpcRps = median(results.map(([a]) => a.rps));
      summary.grpc_vs_rest_c64 = summary.rest_rps_c64 ? round(grpcRps / summary.rest_rps_c64) : null;
      rows.push(['gRPC vs REST c=64', `${Math.round(grpcRps)} vs ${summary.rest_rps_c64} calls/s`, `ratio ${summary.grpc_vs_rest_c64}`]);
    }
  }
}

/** 4. Time to first chunk of tellStory: REST SSE, gRPC stream, in-process flow.stream(). */
async function streaming(ours: BenchProcess): Promise<void> {
  const { ai } = createGenkit({ kind: 'offline', latencyMs: 0 });
  const tellStory = defineFlows(ai).find((f) => f.__action.name === 'tellStory')!;
  const client = new FlowServiceClient(`127.0.0.1:${ours.ports.grpc}`, credentials.createInsecure());
  const samples = { rest: [] as number[], grpc: [] as number[], inprocess: [] as number[] };
  for (let i = 0; i < (quick ? 10 : 30); i++) {
    samples.rest.push(await ttfcRest(`http://127.0.0.1:${ours.ports.rest}/tellStory?stream=true`));
    samples.grpc.push(await ttfcGrpc(client));
    const started = performance.now();
    const { stream, output } = tellStory.stream({ topic: 'a brave cat' });
    let first = 0;
    for await (const _chunk of stream) first ||= performance.now() - started;
    await output;
    samples.inprocess.push(first);
  }
  client.close();
  summary.ttfc_ms_rest = round(median(samples.rest));
  summary.ttfc_ms_grpc = round(median(samples.grpc));
  summary.ttfc_ms_inprocess = round(median(samples.inprocess));
  rows.push(['time to first chunk (median)', `REST ${summary.ttfc_ms_rest} ms`, `gRPC ${summary.ttfc_ms_grpc} ms`, `in-process ${summary.ttfc_ms_inprocess} ms`]);
}

async function ttfcRest(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: {} }) });
  let first = 0;
  let text = '';
  for await (const part of res.body!) {
    text += Buffer.from(part as Uint8Array).toString();
    if (!first && text.includes('data: {"message"')) first = performance.now() - started;
  }
  return first;
}

function ttfcGrpc(client: FlowServiceClient): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let first = 0;
    const call = client.tellStoryStream({ topic: 'a brave cat' });
    call.on('data', () => (first ||= performance.now() - started));
    call.on('end', () => resolve(first));
    call.on('error', reject);
  });
}

/** 5. Many slow streams open at once on each surface: memory per stream and event-loop delay. */
async function manySlowStreams(): Promise<void> {
  const server = await startOurServer({ OFFLINE_MODEL_LATENCY_MS: String(SLOW_CHUNK_MS) });
  try {
    const pid = server.child.pid!;
    const base = `http://127.0.0.1:${server.ports.rest}`;
    await fetch(`${base}/tellJoke?stream=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: {} }) }).then((r) => r.text());
    const perStream: number[] = [];
    const delays: number[] = [];
    for (const surface of ['REST', 'gRPC'] as const) {
      const before = await rssMiB(pid);
      let peak = before;
      const sampler = setInterval(() => void rssMiB(pid).then((rss) => (peak = Math.max(peak, rss))), 50);
      const client = new FlowServiceClient(`127.0.0.1:${server.ports.grpc}`, credentials.createInsecure());
      const calls = Array.from({ length: OPEN_STREAMS }, () =>
        surface === 'REST'
          ? fetch(`${base}/tellJoke?stream=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: {} }) }).then(async (r) => {
              const text = await r.text();
              if (!text.includes('"result"')) throw new Error('stream ended without a result');
            })
          : new Promise<void>((resolve, reject) => {
              const call = client.tellJokeStream({});
              let result = false;
              call.on('data', (m: { result?: unknown }) => (result ||= m.result !== undefined));
              call.on('end', () => (result ? resolve() : reject(new Error('no result'))));
              call.on('error', reject);
            }),
      );
      const outcomes = await Promise.allSettled(calls);
      clearInterval(sampler);
      client.close();
      const failed = outcomes.filter((o) => o.status === 'rejected').length;
      const health = (await (await fetch(`${base}/health`)).json()) as { eventLoop: { p99Ms: number } };
      const kib = ((peak - before) * 1024) / OPEN_STREAMS;
      perStream.push(kib);
      delays.push(health.eventLoop.p99Ms);
      rows.push([`${OPEN_STREAMS} slow streams (${surface})`, `${kib.toFixed(1)} KiB/stream`, `loop delay p99 ${health.eventLoop.p99Ms} ms`, `${failed} failed`]);
    }
    summary.stream_kib_per_open_stream = round(Math.max(...perStream));
    summary.loop_delay_p99_ms = round(Math.max(...delays));
  } finally {
    await server.stop();
  }
}

/**
 * 6. Trace export on vs off: the same server exporting every span over OTLP
 * (http/protobuf, default batching) to a sink process, against one started
 * with GENKIT_TELEMETRY_DISABLED=1 (spans are still made, nothing is sent).
 */
async function telemetryOverhead(): Promise<void> {
  const sink = await startListeningScript('scripts/bench/otlp-sink.ts');
  const exporting = await startOurServer({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.ports.port}` });
  const silent = await startOurServer({ GENKIT_TELEMETRY_DISABLED: '1' });
  const h2load = await h2loadAvailable();
  try {
    for (const surface of h2load ? (['REST', 'gRPC'] as const) : (['REST'] as const)) {
      const load = (server: BenchProcess) =>
        surface === 'REST'
          ? restLoad(`http://127.0.0.1:${server.ports.rest}/tellJoke`, JOKE, 64, SECONDS)
          : grpcLoad(`http://127.0.0.1:${server.ports.grpc}/genkit.flows.v1.FlowService/TellJoke`, FRAME, 64, SECONDS);
      await Promise.all([load(exporting), load(silent)].map((p) => p.catch(() => undefined)));
      const results = await alternate(
        () => load(exporting),
        () => load(silent),
      );
      const ratio = median(results.map(([a, b]) => a.rps / b.rps));
      rows.push([`${surface} c=64, OTLP export on vs off`, `on ${fmt(results, 0)}`, `off ${fmt(results, 1)}`, `ratio ${ratio.toFixed(2)}`]);
      summary[`otlp_on_off_ratio_${surface.toLowerCase()}`] = round(ratio);
    }
  } finally {
    await Promise.all([exporting.stop(), silent.stop(), sink.stop()]);
  }
}

/** Time from spawn to the first answered /health and the first successful RPC. */
async function firstServed(ours: BenchProcess, spawnedAt: number): Promise<number> {
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${ours.ports.rest}/health`)).ok) break;
    } catch {
      // not yet
    }
  }
  const client = new FlowServiceClient(`127.0.0.1:${ours.ports.grpc}`, credentials.createInsecure());
  await new Promise<void>((resolve, reject) => client.tellJoke({ name: 'Ada' }, (e) => (e ? reject(e) : resolve())));
  client.close();
  return performance.now() - spawnedAt;
}

/** Runs A and B alternately (order flipped each round), so drift hits both alike. */
async function alternate(a: () => Promise<LoadResult>, b: () => Promise<LoadResult>): Promise<[LoadResult, LoadResult][]> {
  const results: [LoadResult, LoadResult][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      const ra = await a();
      results.push([ra, await b()]);
    } else {
      const rb = await b();
      results.push([await a(), rb]);
    }
  }
  return results;
}

function fmt(results: [LoadResult, LoadResult][], side: 0 | 1): string {
  const pick = (f: (r: LoadResult) => number) => median(results.map((pair) => f(pair[side])));
  const errors = results.reduce((sum, pair) => sum + pair[side].errors, 0);
  return `${Math.round(pick((r) => r.rps))}/s p50 ${pick((r) => r.p50Ms).toFixed(1)} ms p99 ${pick((r) => r.p99Ms).toFixed(1)} ms${errors ? ` (${errors} errors)` : ''}`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function printTable(): void {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  |  ')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
