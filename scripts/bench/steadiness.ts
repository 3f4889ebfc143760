import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TellJokeRequest } from '../../generated/ts/genkit/flows/v1/flows.js';
import { grpcFrame, grpcLoad, median, requireH2load, restLoad, type LoadResult } from './load.js';
import { buildDist, cpuMs, pinning, startListeningScript, startOurServer, type BenchProcess } from './processes.js';
import { spreadOf } from './rounds.js';

/**
 * How steady is one server's rate on this machine, and what floor does that
 * put under the spread of a ratio of two loads (issue 17 asks for ±0.05)?
 *
 * 1. A fixed compute loop (no allocation) in a child pinned to the server
 *    core: its per-second rate is the machine's own steadiness.
 * 2. Each server alone under one long h2load load at c=64 (pinned like the
 *    bench, after the bench's 10 s warm-up): plain startFlowServer (REST),
 *    ours (REST and gRPC), the hand-written grpc-js service. Per-second
 *    rates come from h2load's --log-file (request start times); the
 *    server's CPU is sampled from /proc/<pid>/stat meanwhile, so the output
 *    shows whether the rate moved at constant CPU.
 *
 * Steadiness of a series: MAD/median of its per-second rates and of the
 * means of non-overlapping 4-s and 8-s windows (8 s: the c=64 headline load).
 * Floor of a ratio's spread, empirical: every window of server A divided by
 * every window of server B (all pairs: the windows were measured at different
 * times, as the bench's loads are), MAD of those ratios — absolute, like the
 * bench's ±, at the measured ratio level. "round" is the bench's mirrored
 * round: a load's rate is the mean of two 4-s halves run apart in time, here
 * 4-s windows i and i + n/2 of the same series.
 *
 *   node --import tsx scripts/bench/steadiness.ts [--seconds N] [--warm-up N] [--pin process|thread|off]
 *   npm run bench -- --only steadiness          (opt-in, not in the default run)
 */

const run = promisify(execFile);

/** Completed requests per whole second from the first start; the first and last (partial) seconds dropped. */
export function perSecondCounts(startsUs: number[]): { fromMs: number; counts: number[] } {
  if (startsUs.length === 0) return { fromMs: 0, counts: [] };
  const first = startsUs.reduce((a, b) => Math.min(a, b));
  const counts: number[] = [];
  for (const t of startsUs) {
    const second = Math.floor((t - first) / 1e6);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return { fromMs: first / 1000 + 1000, counts: Array.from(counts.slice(1, -1), (c) => c ?? 0) };
}

/** Median absolute deviation over the median: a robust relative spread. */
export function madOverMedian(values: number[]): number {
  const { median: m, mad } = spreadOf(values);
  return m === 0 ? 0 : mad / m;
}

/** Means of consecutive non-overlapping windows of `size` values (a trailing partial window is dropped). */
export function windowMeans(values: number[], size: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + size <= values.length; i += size) out.push(values.slice(i, i + size).reduce((s, v) => s + v, 0) / size);
  return out;
}

/** A bench round's rate from halves run apart in time: mean of windows i and i + n/2. */
export function spacedPairs(windows: number[]): number[] {
  const half = Math.floor(windows.length / 2);
  return Array.from({ length: half }, (_, i) => (windows[i]! + windows[i + half]!) / 2);
}

/** Every a[i] / b[j]: median ratio and its absolute MAD (the bench's ±) and MAD/median. */
export function ratioSpread(a: number[], b: number[]): { ratio: number; mad: number; relative: number } {
  const { median: ratio, mad } = spreadOf(a.flatMap((x) => b.map((y) => x / y)));
  return { ratio, mad, relative: mad / ratio };
}

interface Series {
  perSecond: number[];
  /** CPU of the process in each of those seconds, % of one core (empty for the compute loop). */
  cpuPercent: number[];
}

/** A fixed integer loop, no allocation, pinned to the server core: iterations per second. */
async function computeLoop(seconds: number): Promise<Series> {
  const script = `
    const t0 = performance.now(), counts = [];
    let x = 1, now;
    while ((now = performance.now()) - t0 < ${seconds * 1000}) {
      for (let i = 0; i < 20000; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
      const s = Math.floor((now - t0) / 1000);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    process.stdout.write(JSON.stringify({ counts, x }));`;
  const argv = [process.execPath, '-e', script];
  const [command, args] = pinning ? ['taskset', ['-c', pinning.serverCpus, ...argv]] : [argv[0]!, argv.slice(1)];
  const { stdout } = await run(command, args);
  const counts = (JSON.parse(stdout) as { counts: number[] }).counts;
  return { perSecond: counts.slice(0, -1), cpuPercent: [] };
}

/** Samples a process's cumulative CPU time while `work` runs; returns CPU % per second from `fromMs`. */
async function withCpuSamples<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cpuPercentFrom: (fromMs: number, count: number) => number[] }> {
  const samples: Array<[number, number]> = [[Date.now(), await cpuMs(pid)]];
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void cpuMs(pid)
      .then((cpu) => samples.push([Date.now(), cpu]))
      .finally(() => (busy = false));
  }, 200);
  try {
    const result = await work();
    return {
      result,
      cpuPercentFrom: (fromMs, count) => Array.from({ length: count }, (_, i) => (cpuAt(samples, fromMs + (i + 1) * 1000) - cpuAt(samples, fromMs + i * 1000)) / 10),
    };
  } finally {
    clearInterval(timer);
  }
}

/** Cumulative CPU ms at wall time t, linear between samples. */
function cpuAt(samples: Array<[number, number]>, t: number): number {
  for (let i = 1; i < samples.length; i++) {
    const [t1, c1] = samples[i]!;
    const [t0, c0] = samples[i - 1]!;
    if (t <= t1) return c0 + ((c1 - c0) * (t - t0)) / Math.max(1, t1 - t0);
  }
  return samples.at(-1)![1];
}

const JOKE = JSON.stringify({ data: { name: 'Ada' } });
const FRAME = grpcFrame(TellJokeRequest.encode({ name: 'Ada' }).finish());
const CONCURRENCY = 64;

export interface SteadinessOptions {
  seconds: number;
  /** Unmeasured load per server before its measured load (the bench's is 10 s). */
  warmUpSeconds: number;
  log: (line: string) => void;
}

export async function measureSteadiness(options: SteadinessOptions): Promise<{ rows: string[][]; summary: Record<string, number> }> {
  const { seconds, warmUpSeconds, log } = options;
  // At least 3 whole 8-s windows once the partial first and last seconds are dropped: a MAD of fewer says nothing.
  if (!(seconds >= 26)) throw new Error('steadiness: --seconds takes at least 26 (three 8-s windows)');
  await requireH2load(log);
  await buildDist();
  log(`steadiness: ${seconds} s per series, pinning ${pinning ? `${pinning.layout} (servers on CPU ${pinning.serverCpus}, h2load on CPU ${pinning.loadCpus})` : 'off'}, ${warmUpSeconds} s warm-up per server`);
  const series: Record<string, Series> = { cpu_loop: await computeLoop(seconds) };
  // As in the bench: all three servers up (pinned), one load at a time.
  const ours = await startOurServer({}, undefined, { pinned: true });
  const plain = await startListeningScript('scripts/bench/plain-flow-server.mjs', {}, { pinned: true });
  const handwritten = await startListeningScript('scripts/bench/handwritten-grpc.mjs', {}, { pinned: true });
  try {
    const cases: Record<string, [BenchProcess, (s: number, starts?: boolean) => Promise<LoadResult>]> = {
      rest_plain: [plain, (s, starts) => restLoad(`http://127.0.0.1:${plain.ports.port}/tellJoke`, JOKE, CONCURRENCY, s, { starts })],
      rest_ours: [ours, (s, starts) => restLoad(`http://127.0.0.1:${ours.ports.rest}/tellJoke`, JOKE, CONCURRENCY, s, { starts })],
      grpc_ours: [ours, (s, starts) => grpcLoad(`http://127.0.0.1:${ours.ports.grpc}/genkit.flows.v1.FlowService/TellJoke`, FRAME, CONCURRENCY, s, { starts })],
      grpc_hand: [handwritten, (s, starts) => grpcLoad(`http://127.0.0.1:${handwritten.ports.port}/genkit.flows.v1.FlowService/TellJoke`, FRAME, CONCURRENCY, s, { starts })],
    };
    for (const [name, [server, load]] of Object.entries(cases)) {
      if (warmUpSeconds > 0) await load(warmUpSeconds);
      const { result, cpuPercentFrom } = await withCpuSamples(server.child.pid!, () => load(seconds, true));
      const { fromMs, counts } = perSecondCounts(result.startsUs ?? []);
      series[name] = { perSecond: counts, cpuPercent: cpuPercentFrom(fromMs, counts.length) };
      log(`  ${name}: ${result.errors} errors; 4-s windows /s: ${windowMeans(counts, 4).map(Math.round).join(' ')}`);
      log(`  ${name}: CPU % per 4-s window: ${windowMeans(series[name]!.cpuPercent, 4).map(Math.round).join(' ')}`);
    }
  } finally {
    await Promise.all([ours.stop(), plain.stop(), handwritten.stop()]);
  }
  return report(series);
}

/** Table rows and JSON keys from the measured series. */
export function report(series: Record<string, Series>): { rows: string[][]; summary: Record<string, number> } {
  const rows: string[][] = [];
  const summary: Record<string, number> = {};
  const pct = (v: number) => `±${(v * 100).toFixed(1)} %`;
  for (const [name, s] of Object.entries(series)) {
    const mad = { s1: madOverMedian(s.perSecond), s4: madOverMedian(windowMeans(s.perSecond, 4)), s8: madOverMedian(windowMeans(s.perSecond, 8)) };
    summary[`steadiness_${name}_mad`] = round3(mad.s1);
    summary[`steadiness_${name}_mad_4s`] = round3(mad.s4);
    summary[`steadiness_${name}_mad_8s`] = round3(mad.s8);
    const w8 = windowMeans(s.perSecond, 8);
    let cpu = '';
    if (s.cpuPercent.length > 0) {
      summary[`steadiness_${name}_cpu_mad`] = round3(madOverMedian(s.cpuPercent));
      // CPU per request in each 8-s window: the rate moving at constant CPU shows as this moving.
      const usPerReq = windowMeans(s.cpuPercent, 8).map((c, i) => (c * 1e4) / w8[i]!);
      cpu = `CPU ${Math.round(median(s.cpuPercent))} % of a core ${pct(madOverMedian(s.cpuPercent))} per s; per request ${Math.round(Math.min(...usPerReq))}–${Math.round(Math.max(...usPerReq))} µs over the 8-s windows`;
    }
    rows.push([
      `steadiness ${name}${name === 'cpu_loop' ? ' (fixed compute loop)' : ', c=64 alone'}`,
      `median ${Math.round(median(s.perSecond))}/s; per second ${pct(mad.s1)}`,
      `4-s windows ${pct(mad.s4)}, 8-s ${pct(mad.s8)} (${Math.round(Math.min(...w8))}–${Math.round(Math.max(...w8))}/s)`,
      cpu,
    ]);
  }
  const floors: Record<string, [string, string]> = {
    rest: ['rest_ours', 'rest_plain'],
    grpc: ['grpc_ours', 'grpc_hand'],
    grpc_vs_rest: ['grpc_ours', 'rest_ours'],
    hand_vs_rest: ['grpc_hand', 'rest_ours'],
  };
  for (const [name, [a, b]] of Object.entries(floors)) {
    if (!series[a] || !series[b]) continue;
    const at = (size: number, shape: (w: number[]) => number[] = (w) => w) =>
      ratioSpread(shape(windowMeans(series[a]!.perSecond, size)), shape(windowMeans(series[b]!.perSecond, size)));
    const w4 = at(4);
    const w8 = at(8);
    const round = at(4, spacedPairs);
    summary[`steadiness_floor_${name}_4s`] = round3(w4.mad);
    summary[`steadiness_floor_${name}_8s`] = round3(w8.mad);
    summary[`steadiness_floor_${name}_round`] = round3(round.mad);
    rows.push([
      `floor of the ${name} ratio's spread (${a} / ${b})`,
      `ratio ${w8.ratio.toFixed(2)}`,
      `4-s loads ±${w4.mad.toFixed(3)}, 8-s ±${w8.mad.toFixed(3)}, mirrored round (2 × 4 s apart) ±${round.mad.toFixed(3)}`,
      'all window pairs; target ±0.05',
    ]);
  }
  return { rows, summary };
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (flag: string, fallback: number) => (process.argv.includes(flag) ? Number(process.argv[process.argv.indexOf(flag) + 1]) : fallback);
  const { rows, summary } = await measureSteadiness({ seconds: arg('--seconds', 64), warmUpSeconds: arg('--warm-up', 10), log: (line) => process.stderr.write(`${line}\n`) });
  for (const row of rows) process.stdout.write(`${row.filter(Boolean).join('  |  ')}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
