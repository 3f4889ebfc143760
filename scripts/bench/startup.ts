import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../grpc/generated-paths.js';
import { freePort } from '../../tests/support/free-port.js';

/**
 * Cold start, as a ratio measured side by side: spawn → first served REST
 * call of the production entry point (`node dist/main.js`, offline model,
 * default configuration) against a plain Genkit `startFlowServer` with one
 * trivial flow (scripts/bench/plain-one-flow.mjs). Both are plain JavaScript
 * run by plain node; rounds alternate which one starts first; medians are
 * reported. Each round also starts ours with gRPC off (`--no-grpc`), to show
 * what the gRPC stack costs at start. Idle RSS is read once each has served its first call and settled.
 *
 *   node --import tsx scripts/bench/startup.ts [--rounds N]   (also part of `npm run bench`)
 */

const run = promisify(execFile);

export interface StartupResult {
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

interface Sample {
  ms: number;
  rssMiB: number;
}

/** How long a started server sits idle before its RSS is read. */
const SETTLE_MS = 1000;

export async function measureStartup(rounds = 5): Promise<StartupResult> {
  await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT });
  const ours: Sample[] = [];
  const restOnly: Sample[] = [];
  const plain: Sample[] = [];
  const startOurs = () => sample([join(REPO_ROOT, 'dist/main.js')], (port) => ({ PORT: String(port) }), '/tellJoke', { name: 'Ada' });
  const startRestOnly = () => sample([join(REPO_ROOT, 'dist/main.js'), '--no-grpc'], (port) => ({ PORT: String(port) }), '/tellJoke', { name: 'Ada' });
  const startPlain = () => sample([join(REPO_ROOT, 'scripts/bench/plain-one-flow.mjs')], (port) => ({ PORT: String(port) }), '/echo', { text: 'Ada' });
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
  const medianRound = ratios.indexOf(medianElement(ratios));
  const rssRatios = ours.map((s, i) => s.rssMiB / plain[i]!.rssMiB);
  const rssRound = rssRatios.indexOf(medianElement(rssRatios));
  const restOnlyRatios = restOnly.map((s, i) => s.ms / plain[i]!.ms);
  const restOnlyRss = restOnly.map((s, i) => s.rssMiB / plain[i]!.rssMiB);
  const restOnlyRssRound = restOnlyRss.indexOf(medianElement(restOnlyRss));
  return {
    startup_ms: Math.round(ours[medianRound]!.ms),
    startup_ms_plain: Math.round(plain[medianRound]!.ms),
    startup_ratio: round2(ratios[medianRound]!),
    startup_ratio_spread: round3(medianElement(ratios.map((r) => Math.abs(r - ratios[medianRound]!)))),
    idle_rss_mb: Math.round(ours[rssRound]!.rssMiB),
    idle_rss_mb_plain: Math.round(plain[rssRound]!.rssMiB),
    idle_rss_ratio: round2(rssRatios[rssRound]!),
    idle_rss_ratio_spread: round3(medianElement(rssRatios.map((r) => Math.abs(r - rssRatios[rssRound]!)))),
    startup_ratio_rest_only: round2(medianElement(restOnlyRatios)),
    idle_rss_mb_rest_only: Math.round(restOnly[restOnlyRssRound]!.rssMiB),
    idle_rss_ratio_rest_only: round2(restOnlyRss[restOnlyRssRound]!),
    startup_ratios: ratios.map(round2),
  };
}

/** Spawns one server, polls its flow route until it answers 200, reads its idle RSS, stops it. */
async function sample(args: string[], envFor: (port: number) => Record<string, string>, path: string, input: object): Promise<Sample> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    HOST: '127.0.0.1',
    GRPC_PORT: String(await freePort()),
    ...envFor(port),
  };
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: 'ignore' });
  const exited = once(child, 'exit');
  try {
    const body = JSON.stringify({ data: input });
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => null);
      if (res?.ok) break;
      await res?.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const ms = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    return { ms, rssMiB: await rssMiB(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(force);
  }
}


async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** The middle element (the upper middle for an even count), so a median names one round. */
function medianElement(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
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
  ];
}

/** The bench JSON's keys. */
export function startupSummary(r: StartupResult): Record<string, number> {
  const { startup_ratios: _perRound, ...numbers } = r;
  return numbers;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const roundsArg = process.argv.indexOf('--rounds');
  const result = await measureStartup(roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5);
  process.stderr.write(`${startupRow(result).join('  |  ')}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
