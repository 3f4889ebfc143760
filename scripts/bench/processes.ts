import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../../grpc/generated-paths.js';
import type { ProbeRequest } from './probe-types.js';

/** Server processes for the bench: started on 127.0.0.1, ports read from their output. */

export interface BenchProcess {
  child: ChildProcess;
  /** ms from spawn until the process printed its port(s). */
  readyMs: number;
  ports: Record<string, number>;
  /** Sends a command over IPC (scripts/bench/probe.mjs, or the script's own) and resolves with the reply. */
  probe<T>(request: DistributiveOmit<ProbeRequest, 'id'> | { cmd: string; [field: string]: unknown }): Promise<T>;
  stop(): Promise<void>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * --expose-gc and the probe: the bench can force a GC and read memory, loop
 * delay and allocation. JavaScript entry points (dist/main.js, as `npm start`
 * runs it) run without tsx; TypeScript ones (the baselines) with it.
 */
const probeArgs = (entry: string) => [
  '--expose-gc',
  // BENCH_SERVER_NODE_ARGS: extra node flags for every server the bench starts, for profiling a case
  // (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"); split on spaces.
  ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ...(entry.endsWith('.ts') ? ['--import', 'tsx'] : []),
  '--import',
  './scripts/bench/probe.mjs',
];

/**
 * CPU pinning for the throughput case (Linux `taskset`, on by default with 2
 * or more cores): the load generator (h2load) runs on the last core, the
 * servers it measures on the others, so the client and the server under test
 * never take turns on one core. Both sides of every ratio run pinned alike.
 * The streaming cases (memory, loop delay) run unpinned: their client is
 * this Node process.
 *
 * `--pin <layout>`:
 * - `process` (default): every thread of each server on the server core(s),
 *   so its helper threads (V8's GC and compiler workers, libuv's pool) take
 *   turns with its event loop on that core. This is the stricter layout for
 *   the side that allocates more (ours).
 * - `thread`: only each server's event-loop thread is pinned (once the server
 *   listens and its helper threads exist); the helpers may run on any core,
 *   as on a production machine with spare cores. The event loop, which is
 *   what limits a Node server's throughput, still has its core to itself.
 * - `off` (also `--no-pin`): nothing pinned.
 * Side by side on this 2-core machine (README, Benchmarks) neither layout
 * gave steadier ratios across the board: `thread` steadier REST ratios,
 * `process` steadier gRPC ones.
 */
export type PinLayout = 'thread' | 'process' | 'off';
export const pinLayout: PinLayout = detectLayout();
export const pinning: { serverCpus: string; loadCpus: string; layout: Exclude<PinLayout, 'off'> } | null = await detectPinning();

function detectLayout(): PinLayout {
  if (process.argv.includes('--no-pin')) return 'off';
  const i = process.argv.indexOf('--pin');
  const value = i >= 0 ? process.argv[i + 1] : 'process';
  if (value === 'thread' || value === 'process' || value === 'off') return value;
  throw new Error(`--pin takes thread, process or off (got ${value})`);
}

async function detectPinning(): Promise<{ serverCpus: string; loadCpus: string; layout: Exclude<PinLayout, 'off'> } | null> {
  if (pinLayout === 'off' || process.platform !== 'linux') return null;
  const cores = availableParallelism();
  if (cores < 2) return null;
  try {
    await promisify(execFile)('taskset', ['--version']);
  } catch {
    return null; // no taskset (util-linux): run unpinned
  }
  return { serverCpus: cores === 2 ? '0' : `0-${cores - 2}`, loadCpus: String(cores - 1), layout: pinLayout };
}

/** `command args…` run on the load generator's core when pinning is on. */
export function onLoadCpu(command: string, args: string[]): [string, string[]] {
  return pinning ? ['taskset', ['-c', pinning.loadCpus, command, ...args]] : [command, args];
}

/** Builds dist/ (what `npm start` runs); incremental, so quick when nothing changed. */
export async function buildDist(): Promise<void> {
  await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT });
}

/** Every server this bench started and has not stopped: killed when the bench ends, however it ends. */
const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((child) => child.kill('SIGKILL')));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Spawns a TypeScript entry point and resolves once every named port has been printed. */
export async function startProcess(
  entry: string,
  env: Record<string, string>,
  portPatterns: Record<string, (line: string) => number | undefined>,
  options: { pinned?: boolean } = {},
): Promise<BenchProcess> {
  const pin = options.pinned ? pinning : null;
  const wholeProcess = pin?.layout === 'process' ? pin : null;
  const started = performance.now();
  const argv = [...probeArgs(entry), entry];
  // taskset execs node in place: the child's pid is node's (CPU and RSS reads stay right).
  const child = spawn(wholeProcess ? 'taskset' : process.execPath, wholeProcess ? ['-c', wholeProcess.serverCpus, process.execPath, ...argv] : argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, GEMINI_API_KEY: '', GOOGLE_API_KEY: '', ...env },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let nextId = 0;
  const pending = new Map<number, { resolve: (value: never) => void; reject: (e: Error) => void }>();
  child.on('message', (reply: { id: number; result?: unknown; error?: string }) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.error !== undefined) waiter?.reject(new Error(`${entry} probe: ${reply.error}`));
    else waiter?.resolve(reply.result as never);
  });
  running.add(child);
  let stopping = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (!stopping) process.stderr.write(`bench: ${entry} (pid ${child.pid}) exited unexpectedly: code ${code}, signal ${signal}\n`);
      resolve();
    }),
  );
  const ports: Record<string, number> = {};
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start in 30 s`)), 30_000);
    // Keep reading after start-up too, so a chatty server never blocks on a full pipe.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (process.env.BENCH_SERVER_OUTPUT) process.stderr.write(`[${entry}] ${line}\n`);
      for (const [name, pattern] of Object.entries(portPatterns)) {
        const port = ports[name] ?? pattern(line);
        if (port !== undefined) ports[name] = port;
      }
      if (Object.keys(ports).length === Object.keys(portPatterns).length) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}`)));
  });
  // `--pin thread`: the event-loop thread (its tid is the pid; `taskset -p` without -a sets that
  // thread only) goes to the server core now that the server listens and its helper threads exist
  // (threads it starts later inherit its core).
  if (pin?.layout === 'thread') await promisify(execFile)('taskset', ['-p', '-c', pin.serverCpus, String(child.pid)]);
  return {
    child,
    readyMs: performance.now() - started,
    ports,
    probe: <T>(request: DistributiveOmit<ProbeRequest, 'id'> | { cmd: string; [field: string]: unknown }) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (value: never) => void, reject });
        child.send({ ...request, id });
      }),
    stop: async () => {
      stopping = true;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** Our server, as `npm start` runs it (node dist/main.js; call buildDist first), with the limiter raised out of the way. */
export function startOurServer(env: Record<string, string> = {}, entry = 'dist/main.js', options: { pinned?: boolean } = {}): Promise<BenchProcess> {
  const json = (line: string) => {
    try {
      return JSON.parse(line) as { msg?: string; port?: number };
    } catch {
      return {};
    }
  };
  return startProcess(
    entry,
    { PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1', RATE_LIMIT: '100000000/second', LOG_FORMAT: 'json', ...env },
    {
      rest: (line) => (json(line).msg?.startsWith('REST listening') ? json(line).port : undefined),
      grpc: (line) => (json(line).msg?.startsWith('gRPC listening') ? json(line).port : undefined),
    },
    options,
  );
}

export function startListeningScript(entry: string, env: Record<string, string> = {}, options: { pinned?: boolean } = {}): Promise<BenchProcess> {
  return startProcess(entry, env, { port: (line) => (/^LISTENING (\d+)$/.exec(line)?.[1] ? Number(/^LISTENING (\d+)$/.exec(line)![1]) : undefined) }, options);
}

/** Resident set size of a process, in MiB (Linux /proc). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kib / 1024;
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc, 100 ticks per second). */
export async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
