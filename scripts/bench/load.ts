import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { onLoadCpu } from './processes.js';

/**
 * Load generation with h2load (Debian's nghttp2-client) on both surfaces:
 * HTTP/1.1 for REST (`--h1`), HTTP/2 for gRPC. A C client spends far less
 * of the two shared cores than a Node one (autocannon) would, and it opens
 * its connections and warms them (`--warm-up-time`) before the measured
 * part starts, so a p99 measures serving, not connection set-up.
 */

const run = promisify(execFile);

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Requests completed in the measured part. */
  requests: number;
  /** With `{ starts: true }`: each completed request's start time (µs since the epoch), from h2load's log. */
  startsUs?: number[];
}

export interface LoadOptions {
  /** Keep every completed request's start time (for per-second rates: scripts/bench/steadiness.ts). */
  starts?: boolean;
}

/** Seconds of load on the already-open connections before measuring starts. */
export const WARM_UP_SECONDS = 1;

/**
 * h2load is required, never silently skipped: installed with apt-get when
 * possible (root or sudo), otherwise the bench stops with what to install.
 */
export async function requireH2load(log: (line: string) => void): Promise<void> {
  if (await h2loadAvailable()) return;
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  log('h2load not found: installing Debian\'s nghttp2-client (apt-get install -y nghttp2-client)');
  try {
    const [command, ...args] = [...sudo, 'apt-get', 'install', '-y', '-q', 'nghttp2-client'];
    await run(command!, args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    // Falls through to the check below.
  }
  if (!(await h2loadAvailable())) {
    throw new Error('the bench needs h2load: install Debian\'s nghttp2-client (apt-get install nghttp2-client) and run it again');
  }
}

export async function h2loadAvailable(): Promise<boolean> {
  try {
    await run('h2load', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** REST load: `connections` HTTP/1.1 keep-alive connections, one request in flight on each. */
export function restLoad(url: string, body: string, connections: number, seconds: number, options: LoadOptions = {}): Promise<LoadResult> {
  return h2load(url, Buffer.from(body), ['--h1', '-c', String(connections), '-m', '1', '-H', 'content-type: application/json'], seconds, options);
}

/** A gRPC request body on the wire: 1 byte "not compressed", 4 bytes length, the message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(frame, 5);
  return frame;
}

/** Unary gRPC load: `concurrency` streams spread over up to 8 HTTP/2 connections. */
export function grpcLoad(url: string, frame: Buffer, concurrency: number, seconds: number, options: LoadOptions = {}): Promise<LoadResult> {
  const clients = Math.min(concurrency, 8);
  return h2load(
    url,
    frame,
    ['-c', String(clients), '-m', String(Math.ceil(concurrency / clients)), '-H', 'content-type: application/grpc', '-H', 'te: trailers'],
    seconds,
    options,
  );
}

async function h2load(url: string, body: Buffer, args: string[], seconds: number, options: LoadOptions): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'h2load-'));
  try {
    const bodyFile = join(dir, 'body.bin');
    const logFile = join(dir, 'requests.log');
    await writeFile(bodyFile, body);
    const [command, argv] = onLoadCpu('h2load', [...args, '-D', String(seconds), '--warm-up-time', String(WARM_UP_SECONDS), '-d', bodyFile, '--log-file', logFile, url]);
    const { stdout } = await run(command, argv, { maxBuffer: 16 * 1024 * 1024 });
    const requests = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(stdout)?.[1] ?? 0);
    const failed = Number(/(\d+) failed/.exec(stdout)?.[1] ?? 0) + Number(/(\d+) errored/.exec(stdout)?.[1] ?? 0);
    const non2xx = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
    const badStatus = non2xx ? Number(non2xx[1]) + Number(non2xx[2]) + Number(non2xx[3]) : 0;
    // --log-file: one line per request of the measured part, "<start µs>\t<HTTP status>\t<duration µs>".
    const lines = (await readFile(logFile, 'utf8')).trim().split('\n').map((line) => line.split('\t'));
    const durations = lines
      .map((fields) => Number(fields[2]) / 1000)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    const result: LoadResult = { rps: requests / seconds, p50Ms: percentile(durations, 50), p99Ms: percentile(durations, 99), errors: failed + badStatus, requests };
    // Status -1: a failed stream, not a completed request.
    if (options.starts) result.startsUs = lines.filter((fields) => Number(fields[1]) > 0).map((fields) => Number(fields[0]));
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}
