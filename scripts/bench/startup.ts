import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { REPO_ROOT } from '../../grpc/generated-paths.js';
import { freePort } from '../../tests/support/free-port.js';
import { median } from './load.js';
import { buildDist, rssMiB } from './processes.js';
import { spreadOf } from './rounds.js';

/**
 * Cold start, as a ratio measured side by side: spawn → first served REST
 * call of the production entry point (`node dist/main.js`, offline model,
 * default configuration) against a plain Genkit `startFlowServer` with one
 * trivial flow (scripts/bench/plain-one-flow.mjs). Both are plain JavaScript
 * run by plain node; rounds alternate which one starts first; medians are
 * reported. Each round also starts ours with gRPC off (`--no-grpc`), to show
 * what the gRPC stack costs at start. Idle RSS is read 1 s after each one's
 * first served call.
 *
 * Settled idle RSS (a second phase): a process that sits idle gets V8's memory
 * reducer — a few GCs that also shrink the young generation back — but only
 * after it has seen the mutator idle for a while, which took 16 s to more than
 * 40 s here. So each settled round starts the three side by side, sends one
 * call each, and polls RSS until V8 has given pages back (RSS down ≥ 8 % from
 * its 1 s reading and unchanged for 2 s), within a bound; a process that did
 * not settle in the bound is reported as such, never counted as settled.
 *
 *   node --import tsx scripts/bench/startup.ts [--rounds N] [--settled-rounds N]   (also part of `npm run bench`)
 */

export interface StartupResult extends SettledResult {
  startup_ms: number;
  startup_ms_plain: number;
  startup_ratio: number;
  startup_ratio_spread: number;
  idle_rss_mb: number;
  idle_rss_mb_plain: number;
  idle_rss_ratio: number;
  idle_rss_ratio_spread: number;
  /** The same process with gRPC off (`--no-grpc`: the REST service of a two-service deploy), same rounds. */
  startup_ratio_rest_only: number;
  idle_rss_mb_rest_only: number;
  idle_rss_ratio_rest_only: number;
  /** Per-round ratios, for the spread. */
  startup_ratios: number[];
}

/** RSS once V8's memory reducer has run on the idle process (the median settled round; NaN when none settled). */
interface SettledResult {
  idle_rss_settled_mb: number;
  idle_rss_settled_mb_plain: number;
  idle_rss_settled_ratio: number;
  idle_rss_settled_ratio_spread: number;
  idle_rss_settled_mb_rest_only: number;
  idle_rss_settled_ratio_rest_only: number;
  /** Processes that had not settled within the bound (their readings are left out). */
  idle_rss_unsettled: number;
  idle_rss_settled_ratios: number[];
}

interface Sample {
  ms: number;
  rssMiB: number;
}

/** How long a started server sits idle before its RSS is read. */
const SETTLE_MS = 1000;
/** Settled reading: V8 has given pages back when RSS is this far below the 1 s reading... */
const SETTLED_DROP = 0.92;
/** ...and has not moved (±1 MiB) for this long. */
const SETTLED_STABLE_MS = 2000;
/** The bound on waiting for V8's memory reducer. */
const SETTLE_LIMIT_MS = 90_000;

interface Server {
  args: string[];
  path: string;
  input: object;
}

const OURS: Server = { args: [join(REPO_ROOT, 'dist/main.js')], path: '/tellJoke', input: { name: 'Ada' } };
const REST_ONLY: Server = { args: [join(REPO_ROOT, 'dist/main.js'), '--no-grpc'], path: '/tellJoke', input: { name: 'Ada' } };
const PLAIN: Server = { args: [join(REPO_ROOT, 'scripts/bench/plain-one-flow.mjs')], path: '/echo', input: { text: 'Ada' } };

export async function measureStartup(rounds = 5, settledRounds = 3): Promise<StartupResult> {
  await buildDist();
  const ours: Sample[] = [];
  const restOnly: Sample[] = [];
  const plain: Sample[] = [];
  const startOurs = () => sample(OURS);
  const startRestOnly = () => sample(REST_ONLY);
  const startPlain = () => sample(PLAIN);
  // One unmeasured start of each: the first spawn pays for a cold file cache.
  await startOurs();
  await startPlain();
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      ours.push(await startOurs());
      plain.push(await startPlain());
      restOnly.push(await startRestOnly());
    } else {
      restOnly.push(await startRestOnly());
      plain.push(await startPlain());
      ours.push(await startOurs());
    }
  }
  // The bench's one ratio definition: the median of the per-round ratios, with the median round's
  // own numbers next to it, and the median absolute deviation as the spread.
  const ratios = ours.map((s, i) => s.ms / plain[i]!.ms);
  const rssRatios = ours.map((s, i) => s.rssMiB / plain[i]!.rssMiB);
  const restOnlyRss = restOnly.map((s, i) => s.rssMiB / plain[i]!.rssMiB);
  const startSpread = spreadOf(ratios);
  const rssSpread = spreadOf(rssRatios);
  const medianRound = ratios.indexOf(startSpread.median);
  const rssRound = rssRatios.indexOf(rssSpread.median);
  const restOnlyRssRound = restOnlyRss.indexOf(median(restOnlyRss));
  const settled = await measureSettled(settledRounds);
  return {
    startup_ms: Math.round(ours[medianRound]!.ms),
    startup_ms_plain: Math.round(plain[medianRound]!.ms),
    startup_ratio: round2(startSpread.median),
    startup_ratio_spread: round3(startSpread.mad),
    idle_rss_mb: Math.round(ours[rssRound]!.rssMiB),
    idle_rss_mb_plain: Math.round(plain[rssRound]!.rssMiB),
    idle_rss_ratio: round2(rssSpread.median),
    idle_rss_ratio_spread: round3(rssSpread.mad),
    startup_ratio_rest_only: round2(median(restOnly.map((s, i) => s.ms / plain[i]!.ms))),
    idle_rss_mb_rest_only: Math.round(restOnly[restOnlyRssRound]!.rssMiB),
    idle_rss_ratio_rest_only: round2(restOnlyRss[restOnlyRssRound]!),
    ...settled,
    startup_ratios: ratios.map(round2),
  };
}

/** Settled rounds: the three side by side, each read once V8's memory reducer has run (or reported unsettled). */
async function measureSettled(rounds: number): Promise<SettledResult> {
  const ratios: number[] = [];
  const pairs: { ours: number; plain: number }[] = [];
  const restOnlyMb: number[] = [];
  const restOnlyRatios: number[] = [];
  let unsettled = 0;
  for (let round = 0; round < rounds; round++) {
    const [o, r, p] = await Promise.all([settledSample(OURS), settledSample(REST_ONLY), settledSample(PLAIN)]);
    unsettled += [o, r, p].filter((x) => x === null).length;
    if (o === null || p === null) continue;
    ratios.push(o / p);
    pairs.push({ ours: o, plain: p });
    if (r === null) continue;
    restOnlyMb.push(r);
    restOnlyRatios.push(r / p);
  }
  const spread = spreadOf(ratios);
  const pair = pairs[ratios.indexOf(spread.median)];
  // NaN (null in the JSON) where nothing settled: never a number that was not measured.
  const some = (values: number[], value: () => number) => (values.length ? value() : Number.NaN);
  return {
    idle_rss_settled_mb: some(ratios, () => Math.round(pair!.ours)),
    idle_rss_settled_mb_plain: some(ratios, () => Math.round(pair!.plain)),
    idle_rss_settled_ratio: some(ratios, () => round2(spread.median)),
    idle_rss_settled_ratio_spread: some(ratios, () => round3(spread.mad)),
    idle_rss_settled_mb_rest_only: some(restOnlyMb, () => Math.round(median(restOnlyMb))),
    idle_rss_settled_ratio_rest_only: some(restOnlyRatios, () => round2(median(restOnlyRatios))),
    idle_rss_unsettled: unsettled,
    idle_rss_settled_ratios: ratios.map(round2),
  };
}

/** Spawns one server, polls its flow route until it answers 200, reads its idle RSS, stops it. */
async function sample(server: Server): Promise<Sample> {
  const started = await startServed(server);
  try {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    return { ms: started.ms, rssMiB: await rssMiB(started.child.pid!) };
  } finally {
    await started.stop();
  }
}

/** One server's RSS once V8's memory reducer has given pages back; null if that did not happen within the bound. */
async function settledSample(server: Server): Promise<number | null> {
  const started = await startServed(server);
  try {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const first = await rssMiB(started.child.pid!);
    const deadline = performance.now() + SETTLE_LIMIT_MS;
    let stableSince = performance.now();
    let last = first;
    while (performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = await rssMiB(started.child.pid!);
      if (Math.abs(now - last) > 1) stableSince = performance.now();
      last = now;
      if (now <= first * SETTLED_DROP && performance.now() - stableSince >= SETTLED_STABLE_MS) return now;
    }
    return null;
  } finally {
    await started.stop();
  }
}

/** Spawns one server and polls its flow route until it answers 200: the time that took, and how to stop it. */
async function startServed(server: Server): Promise<{ ms: number; child: ChildProcess; stop: () => Promise<void> }> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    HOST: '127.0.0.1',
    GRPC_PORT: String(await freePort()),
    PORT: String(port),
  };
  const started = performance.now();
  const child = spawn(process.execPath, server.args, { cwd: REPO_ROOT, env, stdio: 'ignore' });
  const exited = once(child, 'exit');
  const stop = async () => {
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(force);
  };
  try {
    const body = JSON.stringify({ data: server.input });
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${server.args.join(' ')} exited with ${child.exitCode}`);
      const res = await fetch(`http://127.0.0.1:${port}${server.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => null);
      if (res?.ok) break;
      await res?.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return { ms: performance.now() - started, child, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The bench table's row. */
export function startupRow(r: StartupResult): string[] {
  return [
    'cold start (dist/main.js vs plain startFlowServer, 1 flow)',
    `${r.startup_ms} vs ${r.startup_ms_plain} ms, ratio ${r.startup_ratio} ±${r.startup_ratio_spread} (rounds ${r.startup_ratios.join(' ')})`,
    `idle RSS ${r.idle_rss_mb} vs ${r.idle_rss_mb_plain} MiB, ratio ${r.idle_rss_ratio} ±${r.idle_rss_ratio_spread}`,
    `REST only (--no-grpc): start ratio ${r.startup_ratio_rest_only}, idle RSS ${r.idle_rss_mb_rest_only} MiB, ratio ${r.idle_rss_ratio_rest_only}`,
    `settled idle RSS (after V8's memory reducer) ${r.idle_rss_settled_mb} vs ${r.idle_rss_settled_mb_plain} MiB, ratio ${r.idle_rss_settled_ratio} ±${r.idle_rss_settled_ratio_spread} ` +
      `(rounds ${r.idle_rss_settled_ratios.join(' ')}); REST only ${r.idle_rss_settled_mb_rest_only} MiB, ratio ${r.idle_rss_settled_ratio_rest_only}` +
      (r.idle_rss_unsettled ? `; ${r.idle_rss_unsettled} process(es) not settled in ${SETTLE_LIMIT_MS / 1000} s, left out` : ''),
  ];
}

/** The bench JSON's keys. */
export function startupSummary(r: StartupResult): Record<string, number> {
  const { startup_ratios: _perRound, idle_rss_settled_ratios: _settledPerRound, ...numbers } = r;
  return numbers;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) => {
    const at = process.argv.indexOf(name);
    return at > 0 ? Number(process.argv[at + 1]) : fallback;
  };
  const result = await measureStartup(arg('--rounds', 5), arg('--settled-rounds', 3));
  process.stderr.write(`${startupRow(result).join('  |  ')}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
