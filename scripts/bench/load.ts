import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';

/** Load generators: autocannon for REST, h2load for gRPC (a Node client would measure itself). */

const run = promisify(execFile);

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export async function restLoad(url: string, body: string, connections: number, seconds: number): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: seconds,
  });
  return {
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

export async function h2loadAvailable(): Promise<boolean> {
  try {
    await run('h2load', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** A gRPC request body on the wire: 1 byte "not compressed", 4 bytes length, the message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(frame, 5);
  return frame;
}

/** Unary gRPC load with h2load: `concurrency` streams spread over up to 8 connections. */
export async function grpcLoad(url: string, frame: Buffer, concurrency: number, seconds: number): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'h2load-'));
  try {
    const bodyFile = join(dir, 'body.bin');
    const logFile = join(dir, 'requests.log');
    await writeFile(bodyFile, frame);
    const clients = Math.min(concurrency, 8);
    const { stdout } = await run(
      'h2load',
      [
        '-c', String(clients),
        '-m', String(Math.ceil(concurrency / clients)),
        '-D', String(seconds),
        '-d', bodyFile,
        '-H', 'content-type: application/grpc',
        '-H', 'te: trailers',
        '--log-file', logFile,
        url,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? 0);
    const failed = Number(/(\d+) failed/.exec(stdout)?.[1] ?? 0) + Number(/(\d+) errored/.exec(stdout)?.[1] ?? 0);
    // --log-file: one line per request, "<start µs>\t<HTTP status>\t<duration µs>".
    const durations = (await readFile(logFile, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => Number(line.split('\t')[2]) / 1000)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    return { rps, p50Ms: percentile(durations, 50), p99Ms: percentile(durations, 99), errors: failed };
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
