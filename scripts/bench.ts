import { credentials } from '@grpc/grpc-js';
import os from 'node:os';
import { FlowServiceClient, TellJokeRequest } from '../generated/ts/genkit/flows/v1/flows.js';
import { grpcFrame, grpcLoad, median, requireH2load, restLoad, WARM_UP_SECONDS, type LoadResult } from './bench/load.js';
import type { ProbeAlloc } from './bench/probe-types.js';
import { buildDist, cpuMs, pinning, rssMiB, startListeningScript, startOurServer, type BenchProcess } from './bench/processes.js';
import { pairedRounds, type RatioResult, type RoundsOptions } from './bench/rounds.js';
import { abBench } from './bench/ab.js';
import { scaleOutBench } from './bench/scale-out.js';
import { measureStartup, startupRow, startupSummary } from './bench/startup.js';
import { measureSteadiness } from './bench/steadiness.js';
import { loopDelayWithSlowStreams, memoryPerOpenStream, timeToFirstChunk, type StreamMemory } from './bench/streams.js';

/**
 * `npm run bench [-- --quick | --telemetry]`: what our layers cost, as ratios
 * measured side by side in one run. Every ratio is the median of paired
 * per-round ratios (scripts/bench/rounds.ts), printed with its spread.
 * Everything runs on the offline model, on 127.0.0.1, in separate processes;
 * load comes from h2load (required). The last line is one JSON object.
 */

const quick = process.argv.includes('--quick');
/** `--telemetry`: only case 6 (OTLP export on vs off). */
const telemetryOnly = process.argv.includes('--telemetry');
/** `--ab <dir> [--rounds N]`: this tree's server against the one built in <dir> (scripts/bench/ab.ts). */
/** `--scale-out`: only issue 16's cases (scripts/bench/scale-out.ts). */
const scaleOutOnly = process.argv.includes('--scale-out');
/**
 * `--only <case>[,<case>]`: run only these cases (while developing; the JSON
 * line then has only their keys): startup, throughput, ttfc, memory, loop,
 * telemetry. `--concurrency 64[,16]` narrows the throughput case.
 */
const only = argValue('--only')?.split(',');
const runs = (name: string) => !only || only.includes(name);
const SECONDS = quick ? 2 : 4;
/** Unmeasured load per server and surface before the throughput rounds. */
const JIT_WARM_UP_SECONDS = quick ? 2 : 10;
/** Measured seconds per load of the c=64 throughput rounds (the headline ratios), in two halves per round (`--headline-seconds`). */
const HEADLINE_SECONDS = Number(argValue('--headline-seconds') ?? 8);
if (!(HEADLINE_SECONDS >= 2)) throw new Error('--headline-seconds takes a number of seconds ≥ 2');
const CONCURRENCY = argValue('--concurrency')?.split(',').map(Number) ?? (quick ? [1, 64] : [1, 16, 64]);
/** Headline ratios: rounds continue until each one's spread is below ±TARGET_SPREAD (bounded). */
const TARGET_SPREAD = 0.05;
const HEADLINE_ROUNDS: Omit<RoundsOptions, 'converge'> = quick
  ? { minRounds: 3, maxRounds: 3, targetSpread: TARGET_SPREAD }
  : { minRounds: 5, maxRounds: 11, targetSpread: TARGET_SPREAD };
const SIDE_ROUNDS: RoundsOptions = { minRounds: 3, maxRounds: 3, targetSpread: TARGET_SPREAD };
const OPEN_STREAMS = quick ? 300 : 1000;
/** Chunk latency while measuring memory: long enough that every stream is still open when the last one starts. */
const MEMORY_CHUNK_MS = 2000;
/** Chunk latency of the loop-delay case. */
const SLOW_CHUNK_MS = 400;
const JOKE = JSON.stringify({ data: { name: 'Ada' } });
const FRAME = grpcFrame(TellJokeRequest.encode({ name: 'Ada' }).finish());

const rows: string[][] = [];
const summary: Record<string, number | null> = {};
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  log(`bench${quick ? ' --quick' : ''}: ${os.cpus().length} cores, Node ${process.version}, rounds of ${WARM_UP_SECONDS} s warm-up + ${SECONDS} s per load${quick ? '' : ` (${HEADLINE_SECONDS} s at c=64)`}, throughput loads in two halves (mirrored order), throughput pinning: ${pinning ? `${pinning.layout} (servers on CPU ${pinning.serverCpus}, h2load on CPU ${pinning.loadCpus})` : 'off'}`);
  await requireH2load(log);
  await buildDist();
  if (telemetryOnly) {
    await telemetryOverhead();
    finish();
    return;
  }
  const abBaseline = argValue('--ab');
  if (abBaseline) {
    await abBench({ baseline: abBaseline, rounds: Number(argValue('--rounds') ?? 7), seconds: HEADLINE_SECONDS, concurrency: CONCURRENCY.at(-1)!, rows, summary, log });
    finish();
    return;
  }
  if (scaleOutOnly) {
    await scaleOutBench({ rounds: quick ? 2 : 4, seconds: SECONDS, rows, summary, log });
    finish();
    return;
  }
  // Cold start first, on an otherwise idle machine: dist/main.js vs a plain startFlowServer (scripts/bench/startup.ts).
  if (runs('startup')) {
    const cold = await measureStartup(quick ? 3 : 5, quick ? 1 : 3);
    rows.push(startupRow(cold));
    Object.assign(summary, startupSummary(cold));
  }
  if (runs('throughput') || runs('ttfc')) {
    const spawnedAt = performance.now();
    const ours = await startOurServer({}, undefined, { pinned: true });
    const startup = await firstServed(ours, spawnedAt);
    const plain = await startListeningScript('scripts/bench/plain-flow-server.mjs', {}, { pinned: true });
    const handwritten = await startListeningScript('scripts/bench/handwritten-grpc.mjs', {}, { pinned: true });
    try {
      if (runs('throughput')) await throughput(ours, plain, handwritten);
      if (runs('ttfc')) await firstChunk(ours);
      summary.rss_mb = Math.round(await rssMiB(ours.child.pid!));
      rows.push(['start-up (dist/main.js, probe loaded)', `first /health and first RPC ${Math.round(startup)} ms after spawn`, `RSS after the load cases ${summary.rss_mb} MiB`, 'target ≤ 250 MiB']);
    } finally {
      await Promise.all([ours.stop(), plain.stop(), handwritten.stop()]);
    }
  }
  if (runs('memory')) await streamMemory();
  if (runs('loop')) await loopDelay();
  if (runs('telemetry')) await telemetryOverhead();
  // Opt-in only (`--only steadiness [--steadiness-seconds N]`, ≈6 min): how steady one server's rate is (scripts/bench/steadiness.ts).
  if (only?.includes('steadiness')) {
    const steadiness = await measureSteadiness({ seconds: Number(argValue('--steadiness-seconds') ?? 64), warmUpSeconds: JIT_WARM_UP_SECONDS, log });
    rows.push(...steadiness.rows);
    Object.assign(summary, steadiness.summary);
  }
  finish();
}

/**
 * 1-3. REST (ours vs a plain startFlowServer) and gRPC (ours vs a
 * hand-written grpc-js service), all four in every round, so gRPC vs REST is
 * paired too. At c=64 the V8 allocation of each REST request is measured
 * in the same rounds (ours vs plain).
 */
async function throughput(ours: BenchProcess, plain: BenchProcess, handwritten: BenchProcess): Promise<void> {
  const url = {
    restOurs: `http://127.0.0.1:${ours.ports.rest}/tellJoke`,
    restPlain: `http://127.0.0.1:${plain.ports.port}/tellJoke`,
    grpcOurs: `http://127.0.0.1:${ours.ports.grpc}/genkit.flows.v1.FlowService/TellJoke`,
    grpcHand: `http://127.0.0.1:${handwritten.ports.port}/genkit.flows.v1.FlowService/TellJoke`,
  };
  // Warm-up of every server, not measured: one load after the other (so each has its core), at the
  // highest concurrency measured. Our REST rate kept climbing for the first 15-40 s of load on a new
  // process (JIT tiers, heap sizing); 2 s at c=16, run two at a time, left that climb in the first rounds.
  const warmUpC = Math.max(...CONCURRENCY);
  await restLoad(url.restOurs, JOKE, warmUpC, JIT_WARM_UP_SECONDS);
  await restLoad(url.restPlain, JOKE, warmUpC, JIT_WARM_UP_SECONDS);
  await grpcLoad(url.grpcOurs, FRAME, warmUpC, JIT_WARM_UP_SECONDS);
  await grpcLoad(url.grpcHand, FRAME, warmUpC, JIT_WARM_UP_SECONDS);
  for (const c of CONCURRENCY) {
    log(`throughput c=${c}`);
    const allocPerRequest: Record<string, number[]> = { restOurs: [], restPlain: [], grpcOurs: [], grpcHand: [] };
    const allocTarget: Record<string, BenchProcess> = { restOurs: ours, restPlain: plain, grpcOurs: ours, grpcHand: handwritten };
    // Process CPU time per request: far less sensitive to the other work on a shared machine than
    // requests per second. h2load's warm-up second is in the window too, counted at the measured rate.
    const cpuTarget: Record<string, BenchProcess> = { restOurs: ours, restPlain: plain, grpcOurs: ours, grpcHand: handwritten };
    const cpuPerRequest: Record<string, number[]> = { restOurs: [], restPlain: [], grpcOurs: [], grpcHand: [] };
    // The headline rows at c=64 get longer measured windows: less noise per load, so fewer rounds to converge.
    // Mirrored rounds: every load runs twice per round, for half of that (scripts/bench/rounds.ts).
    const seconds = (c === 64 && !quick ? HEADLINE_SECONDS : SECONDS) / 2;
    const { ratios } = await pairedRounds(
      // Order (rotated one place per round): the two loads of REST vs plain, gRPC vs hand-written and
      // our gRPC vs our REST are neighbours (back to back in three rounds of four); hand-written gRPC
      // vs our REST are one load apart.
      {
        restPlain: () => restLoad(url.restPlain, JOKE, c, seconds),
        restOurs: () => restLoad(url.restOurs, JOKE, c, seconds),
        grpcOurs: () => grpcLoad(url.grpcOurs, FRAME, c, seconds),
        grpcHand: () => grpcLoad(url.grpcHand, FRAME, c, seconds),
      },
      { rest: ['restOurs', 'restPlain'], grpc: ['grpcOurs', 'grpcHand'], grpcVsRest: ['grpcOurs', 'restOurs'], handVsRest: ['grpcHand', 'restOurs'] },
      {
        ...(c === 1 ? SIDE_ROUNDS : HEADLINE_ROUNDS),
        mirrored: true,
        converge: c === 64 ? ['rest', 'grpc', 'grpcVsRest', 'handVsRest'] : c === 16 ? ['rest'] : [],
        log,
        around: async (name, load) => {
          const pid = cpuTarget[name]!.child.pid!;
          const cpuBefore = await cpuMs(pid);
          const target = c === 64 ? allocTarget[name] : undefined;
          // The allocation window opens after h2load's warm-up and closes when the measured part ends.
          if (target) await target.probe({ cmd: 'alloc-start', delayMs: WARM_UP_SECONDS * 1000 });
          const result = await load();
          let gcNote = '';
          if (target) {
            const alloc = await target.probe<ProbeAlloc>({ cmd: 'alloc-stop' });
            allocPerRequest[name]!.push(alloc.bytes / Math.max(1, result.requests));
            gcNote = `, ${kib(alloc.bytes / Math.max(1, result.requests))} KiB/req, ${alloc.gcs} GCs ${alloc.totalPauseMs.toFixed(0)} ms (longest ${alloc.maxPauseMs.toFixed(1)})`;
          }
          const requestsInWindow = result.requests * (1 + WARM_UP_SECONDS / seconds);
          const cpu = ((await cpuMs(pid)) - cpuBefore) * 1000 / Math.max(1, requestsInWindow);
          cpuPerRequest[name]!.push(cpu);
          // Per load: what moved when a round's ratio is an outlier (rate, CPU per request, GC).
          log(`      ${name} ${Math.round(result.rps)}/s p99 ${result.p99Ms.toFixed(1)} ms, CPU ${Math.round(cpu)} µs/req${gcNote}`);
          return result;
        },
      },
    );
    rows.push(ratioRow(`REST c=${c}`, 'ours', 'plain startFlowServer', ratios.rest!, c === 1 ? '' : 'target ≥ 0.85'));
    rows.push(ratioRow(`gRPC c=${c}`, 'ours', 'hand-written grpc-js', ratios.grpc!, c === 64 ? 'target ≥ 0.90' : ''));
    rows.push(ratioRow(`gRPC vs REST c=${c}`, 'gRPC', 'REST', ratios.grpcVsRest!, c === 64 ? 'target ≥ 2' : ''));
    // What the gRPC framing alone gives over our REST on the same flow: the hand-written service, same rounds.
    rows.push(ratioRow(`hand-written gRPC vs our REST c=${c}`, 'hand-written gRPC', 'our REST', ratios.handVsRest!, c === 64 ? 'reference for "gRPC vs REST"' : ''));
    if (c === 16) putRatio('rest_ratio_c16', ratios.rest!);
    if (c === 64) {
      for (const [surface, a, b, baseline] of [['rest', 'restOurs', 'restPlain', 'plain'], ['grpc', 'grpcOurs', 'grpcHand', 'hand-written']] as const) {
        const cpu = pairedMedian(cpuPerRequest[a]!, cpuPerRequest[b]!);
        summary[`cpu_us_per_req_${surface}`] = Math.round(cpu.a);
        summary[`cpu_us_per_req_${surface}_baseline`] = Math.round(cpu.b);
        summary[`cpu_ratio_${surface}`] = round2(cpu.ratio);
        summary[`cpu_ratio_${surface}_spread`] = round3(cpu.spread);
        rows.push([
          `process CPU per ${surface === 'rest' ? 'REST request' : 'RPC'}, c=64`,
          `ours ${Math.round(cpu.a)} µs`,
          `${baseline} ${Math.round(cpu.b)} µs`,
          `ratio ${cpu.ratio.toFixed(2)} ±${cpu.spread.toFixed(3)} (${cpu.min.toFixed(2)}–${cpu.max.toFixed(2)})`,
          'lower is better',
        ]);
      }
      putRatio('rest_ratio_c64', ratios.rest!);
      summary.rest_rps_c64 = Math.round(ratios.rest!.a.rps);
      putRatio('grpc_ratio_c64', ratios.grpc!);
      putRatio('grpc_vs_rest_c64', ratios.grpcVsRest!);
      putRatio('grpc_handwritten_vs_rest_c64', ratios.handVsRest!);
      const alloc = pairedMedian(allocPerRequest.restOurs!, allocPerRequest.restPlain!);
      summary.alloc_bytes_per_req_rest = Math.round(alloc.a);
      summary.alloc_bytes_per_req_plain = Math.round(alloc.b);
      summary.alloc_ratio_rest = round2(alloc.ratio);
      summary.alloc_ratio_rest_spread = round3(alloc.spread);
      rows.push([
        'V8 allocation per REST request, c=64',
        `ours ${kib(summary.alloc_bytes_per_req_rest)} KiB`,
        `plain ${kib(summary.alloc_bytes_per_req_plain)} KiB`,
        `ratio ${alloc.ratio.toFixed(2)} ±${alloc.spread.toFixed(3)} (${alloc.min.toFixed(2)}–${alloc.max.toFixed(2)})`,
        '',
      ]);
    }
  }
}

/** 4. Time to first chunk of tellStory: REST SSE, gRPC stream, in-process flow.stream(). */
async function firstChunk(ours: BenchProcess): Promise<void> {
  const ttfc = await timeToFirstChunk(ours, quick ? 15 : 41);
  summary.ttfc_ms_rest = round2(ttfc.rest);
  summary.ttfc_ms_grpc = round2(ttfc.grpc);
  summary.ttfc_ms_inprocess = round2(ttfc.inprocess);
  rows.push([
    'time to first chunk, tellStory (median)',
    `REST ${ttfc.rest.toFixed(2)} ms (+${(ttfc.rest - ttfc.inprocess).toFixed(2)})`,
    `gRPC ${ttfc.grpc.toFixed(2)} ms (+${(ttfc.grpc - ttfc.inprocess).toFixed(2)})`,
    `in-process ${ttfc.inprocess.toFixed(2)} ms`,
    'target ≤ in-process + 2 ms',
  ]);
}

/** 5a. Memory per truly open stream vs in-process flow.stream(), in rounds. */
async function streamMemory(): Promise<void> {
  log(`memory per open stream: ${OPEN_STREAMS} at once`);
  const runs: StreamMemory[] = [];
  for (let round = 0; round < (quick ? 1 : 3); round++) runs.push(await memoryPerOpenStream(OPEN_STREAMS, MEMORY_CHUNK_MS));
  const pick = (ratioOf: (r: (typeof runs)[number]) => number) => {
    const perRound = runs.map(ratioOf);
    const ratio = median(perRound);
    return { ratio, spread: median(perRound.map((r) => Math.abs(r - ratio))), run: runs[perRound.indexOf(ratio)]! };
  };
  const rest = pick((r) => r.restRatio);
  const grpc = pick((r) => r.grpcRatio);
  const failed = runs.reduce((sum, r) => sum + r.failed, 0);
  summary.stream_mem_ratio_rest = round2(rest.ratio);
  summary.stream_mem_ratio_rest_spread = round3(rest.spread);
  summary.stream_mem_ratio_grpc = round2(grpc.ratio);
  summary.stream_mem_ratio_grpc_spread = round3(grpc.spread);
  summary.stream_kib_per_open_stream = round2(Math.max(rest.run.restBytes, grpc.run.grpcBytes) / 1024);
  rows.push([
    `${OPEN_STREAMS} open streams, heap+external after GC`,
    `REST ${kib(rest.run.restBytes)} KiB/stream (RSS +${rest.run.restRssKiB.toFixed(0)})`,
    `gRPC ${kib(grpc.run.grpcBytes)} KiB/stream (RSS +${grpc.run.grpcRssKiB.toFixed(0)})`,
    `in-process ${kib(rest.run.inprocessBytes)} / ${kib(grpc.run.inprocessBytes)} KiB`,
    `ratio REST ${rest.ratio.toFixed(2)} ±${round3(rest.spread)}, gRPC ${grpc.ratio.toFixed(2)} ±${round3(grpc.spread)}; ${failed} failed; target ≤ 1.2`,
  ]);
}

/** 5b. Event-loop delay while OPEN_STREAMS slow streams arrive at once and run to their end. */
async function loopDelay(): Promise<void> {
  log(`event-loop delay: ${OPEN_STREAMS} slow streams`);
  const { delays, rssMiB: rss } = await loopDelayWithSlowStreams(OPEN_STREAMS, SLOW_CHUNK_MS);
  for (const d of delays) {
    rows.push([
      `${OPEN_STREAMS} slow streams (${d.label}), arrivals included`,
      `loop delay p99 ${d.p99Ms.toFixed(1)} ms, max ${d.maxMs.toFixed(1)} ms`,
      `GC pauses: longest ${d.gcMaxPauseMs.toFixed(0)} ms, total ${d.gcTotalPauseMs.toFixed(0)} ms`,
      `${d.failed} failed, ${(d.durationMs / 1000).toFixed(1)} s`,
      d.label.startsWith('ours') ? 'target p99 ≤ 50, max ≤ 250 ms' : 'reference',
    ]);
  }
  rows.push(['RSS of our server after them', `${Math.round(rss)} MiB`, '', '', '']);
  const ours = delays.filter((d) => d.label.startsWith('ours'));
  summary.loop_delay_p99_ms = round2(Math.max(...ours.map((d) => d.p99Ms)));
  summary.loop_delay_max_ms = round2(Math.max(...ours.map((d) => d.maxMs)));
}

/**
 * 6. Trace export on vs off: the same server exporting every span over OTLP
 * (http/protobuf, default batching) to a sink process, against one started
 * with GENKIT_TELEMETRY_DISABLED=1 (spans are still made, nothing is sent).
 */
async function telemetryOverhead(): Promise<void> {
  log('OTLP export on vs off');
  const sink = await startListeningScript('scripts/bench/otlp-sink.ts');
  const exporting = await startOurServer({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.ports.port}` }, undefined, { pinned: true });
  const silent = await startOurServer({ GENKIT_TELEMETRY_DISABLED: '1' }, undefined, { pinned: true });
  try {
    const rest = (server: BenchProcess) => restLoad(`http://127.0.0.1:${server.ports.rest}/tellJoke`, JOKE, 64, SECONDS);
    const grpc = (server: BenchProcess) => grpcLoad(`http://127.0.0.1:${server.ports.grpc}/genkit.flows.v1.FlowService/TellJoke`, FRAME, 64, SECONDS);
    await Promise.all([rest(exporting), rest(silent), grpc(exporting), grpc(silent)]);
    const { ratios } = await pairedRounds(
      { restOn: () => rest(exporting), restOff: () => rest(silent), grpcOn: () => grpc(exporting), grpcOff: () => grpc(silent) },
      { rest: ['restOn', 'restOff'], grpc: ['grpcOn', 'grpcOff'] },
      // Not a headline: a fixed number of rounds.
      { ...(quick ? SIDE_ROUNDS : HEADLINE_ROUNDS), converge: [], log },
    );
    rows.push(ratioRow('REST c=64, OTLP export on vs off', 'on', 'off', ratios.rest!, ''));
    rows.push(ratioRow('gRPC c=64, OTLP export on vs off', 'on', 'off', ratios.grpc!, ''));
    putRatio('otlp_on_off_ratio_rest', ratios.rest!);
    putRatio('otlp_on_off_ratio_grpc', ratios.grpc!);
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

/** A table row: the median round's own rates, so the row agrees with its ratio. */
function ratioRow(name: string, aName: string, bName: string, r: RatioResult, target: string): string[] {
  const side = (label: string, x: LoadResult) =>
    `${label} ${Math.round(x.rps)}/s p50 ${x.p50Ms.toFixed(1)} ms p99 ${x.p99Ms.toFixed(1)} ms${x.errors ? ` (${x.errors} errors)` : ''}`;
  return [
    name,
    side(aName, r.a),
    side(bName, r.b),
    `ratio ${r.ratio.toFixed(2)} ±${r.spread.toFixed(3)} (${r.min.toFixed(2)}–${r.max.toFixed(2)}, ${r.rounds} rounds${r.converged ? '' : ', spread above ±0.05'})`,
    target,
  ];
}

/** The bench's ratio definition for per-round side measurements: median of a[i]/b[i], that round's values, MAD. */
function pairedMedian(a: number[], b: number[]): { ratio: number; spread: number; min: number; max: number; a: number; b: number } {
  const perRound = a.map((value, i) => value / b[i]!);
  const ratio = median(perRound);
  const round = perRound.indexOf(ratio);
  return {
    ratio,
    spread: median(perRound.map((r) => Math.abs(r - ratio))),
    min: Math.min(...perRound),
    max: Math.max(...perRound),
    a: a[round]!,
    b: b[round]!,
  };
}

function putRatio(key: string, r: RatioResult): void {
  summary[key] = round2(r.ratio);
  summary[`${key}_spread`] = round3(r.spread);
}

function finish(): void {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  |  ').trimEnd()}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const round2 = (value: number) => Math.round(value * 100) / 100;
const round3 = (value: number) => Math.round(value * 1000) / 1000;
const kib = (bytes: number) => (bytes / 1024).toFixed(1);

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
