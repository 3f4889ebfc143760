import { credentials } from '@grpc/grpc-js';
import http from 'node:http';
import { defineFlows } from '../../flows/index.js';
import { FlowServiceClient } from '../../generated/ts/genkit/flows/v1/flows.js';
import { createGenkit } from '../../genkit.config.js';
import { median } from './load.js';
import type { ProbeAlloc, ProbeLoop, ProbeMemory } from './probe-types.js';
import { rssMiB, startListeningScript, startOurServer, type BenchProcess } from './processes.js';

/** Streaming cases of the bench: time to first chunk, memory per open stream, event-loop delay. */

export type Surface = 'REST' | 'gRPC';
const JSON_HEADERS = { 'content-type': 'application/json' };

/** Time to first chunk of tellStory, interleaved per sample: REST SSE, gRPC stream, in-process flow.stream(). */
export async function timeToFirstChunk(ours: BenchProcess, samples: number): Promise<{ rest: number; grpc: number; inprocess: number }> {
  const { ai } = createGenkit({ kind: 'offline', latencyMs: 0 });
  const tellStory = defineFlows(ai).find((f) => f.__action.name === 'tellStory')!;
  const client = new FlowServiceClient(`127.0.0.1:${ours.ports.grpc}`, credentials.createInsecure());
  const url = `http://127.0.0.1:${ours.ports.rest}/tellStory?stream=true`;
  const inprocess = async () => {
    const started = performance.now();
    const { stream, output } = tellStory.stream({ topic: 'a brave cat' });
    let first = 0;
    for await (const _chunk of stream) first ||= performance.now() - started;
    await output;
    return first;
  };
  const measured = { rest: [] as number[], grpc: [] as number[], inprocess: [] as number[] };
  try {
    // The first calls open the connections and warm every path; not measured.
    for (let i = 0; i < 5; i++) await Promise.all([ttfcRest(url), ttfcGrpc(client), inprocess()]);
    for (let i = 0; i < samples; i++) {
      measured.rest.push(await ttfcRest(url));
      measured.grpc.push(await ttfcGrpc(client));
      measured.inprocess.push(await inprocess());
    }
  } finally {
    client.close();
  }
  return { rest: median(measured.rest), grpc: median(measured.grpc), inprocess: median(measured.inprocess) };
}

/**
 * REST streams are read with node:http on a keep-alive agent, not fetch:
 * fetch's WHATWG streams added ≈1 ms of client time to every first chunk
 * (measured side by side against both servers), which is not the server's.
 */
const agent = new http.Agent({ keepAlive: true });

/** POSTs `{"data": {...}}` to a streaming flow; `onText` sees the body as it arrives. */
function postStream(url: string, data: unknown, onText: (text: string) => void): Promise<string> {
  const body = JSON.stringify({ data });
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (part: string) => {
        text += part;
        onText(text);
      });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function ttfcRest(url: string): Promise<number> {
  const started = performance.now();
  let first = 0;
  await postStream(url, {}, (text) => {
    if (!first && text.includes('data: {"message"')) first = performance.now() - started;
  });
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

/** An open tellJoke stream: `firstChunk` resolves at its first chunk, `done` when it ends with a result. */
interface OpenStream {
  firstChunk: Promise<void>;
  done: Promise<void>;
}

/** Enough channels that no HTTP/2 per-connection stream cap queues the calls. */
const GRPC_CHANNELS = 10;

function openStreams(server: BenchProcess, surface: Surface, n: number): { streams: OpenStream[]; close(): void } {
  const clients =
    surface === 'gRPC'
      ? Array.from(
          { length: GRPC_CHANNELS },
          () => new FlowServiceClient(`127.0.0.1:${server.ports.grpc}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
        )
      : [];
  const streams = Array.from({ length: n }, (_, i): OpenStream => {
    let chunk!: () => void;
    const firstChunk = new Promise<void>((resolve) => (chunk = resolve));
    const done =
      surface === 'REST'
        ? postStream(`http://127.0.0.1:${server.ports.rest ?? server.ports.port}/tellJoke?stream=true`, {}, (text) => {
            if (text.includes('data: {"message"')) chunk();
          }).then((text) => {
            if (!text.includes('"result"')) throw new Error('stream ended without a result');
          })
        : new Promise<void>((resolve, reject) => {
            const call = clients[i % GRPC_CHANNELS]!.tellJokeStream({});
            let result = false;
            call.on('data', (m: { result?: unknown }) => {
              chunk();
              result ||= m.result !== undefined;
            });
            call.on('end', () => (result ? resolve() : reject(new Error('no result'))));
            call.on('error', reject);
          });
    // A stream that fails before its first chunk must not hang the wait for first chunks.
    return { firstChunk: Promise.race([firstChunk, done]), done };
  });
  return { streams, close: () => clients.forEach((c) => c.close()) };
}

/** Streams run to their end on each side before memory is measured. */
const WARM_UP_STREAMS = 200;
/** Streams per server and surface run before the loop-delay case (more than HOT_CALLS, the validators' tier-up). */
const LOOP_WARM_UP_STREAMS = 100;

export interface StreamMemory {
  /** Bytes (V8 heap used + external, after a forced GC) per open stream. */
  restBytes: number;
  grpcBytes: number;
  inprocessBytes: number;
  restRatio: number;
  grpcRatio: number;
  /** RSS growth per open stream (MiB → KiB), for reference. */
  restRssKiB: number;
  grpcRssKiB: number;
  failed: number;
}

/**
 * n streams truly open at once (each has sent its first chunk and has three
 * to go, `latencyMs` apart), a forced GC, then memory; the same n in-process
 * `flow.stream()` calls in another process as the baseline, in the same run.
 */
export async function memoryPerOpenStream(n: number, latencyMs: number): Promise<StreamMemory> {
  const env = { OFFLINE_MODEL_LATENCY_MS: String(latencyMs) };
  const [server, inprocess] = await Promise.all([startOurServer(env), startListeningScript('scripts/bench/inprocess-streams.mjs', env)]);
  try {
    // Warm-up, not measured: a batch of streams run to their end on every side, so that neither
    // lazily loaded code nor the JIT code compiled while the first few hundred streams run is
    // counted as stream memory. With a few calls only, V8 compiled optimized code for the streaming
    // path during the measured burst (heap-snapshot diff: ≈6 KiB "per stream" on REST, code objects).
    const warm = Math.min(n, WARM_UP_STREAMS);
    await Promise.all([
      ...(['REST', 'gRPC'] as const).map(async (surface) => {
        const batch = openStreams(server, surface, warm);
        await Promise.all(batch.streams.map((o) => o.done));
        batch.close();
      }),
      inprocess.probe({ cmd: 'open-streams', n: warm, untilDone: true }),
    ]);
    const perStream = async (measure: () => Promise<number>, target: BenchProcess) => {
      const before = await target.probe<ProbeMemory>({ cmd: 'memory' });
      const opened = await measure();
      const after = await target.probe<ProbeMemory>({ cmd: 'memory' });
      return { bytes: (after.heapBytes - before.heapBytes) / opened, rssKiB: (after.rssBytes - before.rssBytes) / 1024 / opened };
    };
    const inproc = await perStream(async () => {
      await inprocess.probe({ cmd: 'open-streams', n });
      return n;
    }, inprocess);
    let failed = 0;
    const surfaces: Record<string, { bytes: number; rssKiB: number }> = {};
    for (const surface of ['REST', 'gRPC'] as const) {
      let open: ReturnType<typeof openStreams> | undefined;
      surfaces[surface] = await perStream(async () => {
        open = openStreams(server, surface, n);
        await Promise.all(open.streams.map((s) => s.firstChunk));
        return n;
      }, server);
      const outcomes = await Promise.allSettled(open!.streams.map((s) => s.done));
      failed += outcomes.filter((o) => o.status === 'rejected').length;
      open!.close();
    }
    return {
      restBytes: surfaces.REST!.bytes,
      grpcBytes: surfaces.gRPC!.bytes,
      inprocessBytes: inproc.bytes,
      restRatio: surfaces.REST!.bytes / inproc.bytes,
      grpcRatio: surfaces.gRPC!.bytes / inproc.bytes,
      restRssKiB: surfaces.REST!.rssKiB,
      grpcRssKiB: surfaces.gRPC!.rssKiB,
      failed,
    };
  } finally {
    await Promise.all([server.stop(), inprocess.stop()]);
  }
}

export interface LoopDelay {
  /** Which server and surface. */
  label: string;
  p99Ms: number;
  maxMs: number;
  failed: number;
  durationMs: number;
  /** GC pauses in the window: the longest and the sum. */
  gcMaxPauseMs: number;
  gcTotalPauseMs: number;
}

/**
 * n slow streams arriving at once, run to their end; the server's
 * event-loop delay over the whole window, with its GC pauses. A plain
 * startFlowServer takes the same REST burst as the reference in the same run.
 */
export async function loopDelayWithSlowStreams(n: number, latencyMs: number): Promise<{ delays: LoopDelay[]; rssMiB: number }> {
  const env = { OFFLINE_MODEL_LATENCY_MS: String(latencyMs) };
  const [server, plain] = await Promise.all([startOurServer(env), startListeningScript('scripts/bench/plain-flow-server.mjs', env)]);
  try {
    // Warm-up, not measured: a batch of streams run to their end on every server and surface. With two
    // streams each, our server was still cold when the REST burst arrived: its validators tier up to
    // compiled ones at the 32nd call (flows/schema-validation-tier.ts), so that burst ran interpreted and
    // paid the compiles, while the gRPC burst after it (and the plain server, which compiles on first
    // use) ran hot. Now both surfaces and both servers are measured hot.
    const warm = async (target: BenchProcess, surface: Surface) => {
      const batch = openStreams(target, surface, Math.min(n, LOOP_WARM_UP_STREAMS));
      await Promise.all(batch.streams.map((o) => o.done));
      batch.close();
    };
    await Promise.all([warm(server, 'REST'), warm(server, 'gRPC'), warm(plain, 'REST')]);
    const delays: LoopDelay[] = [];
    const cases = [
      ['ours, REST', server, 'REST'],
      ['ours, gRPC', server, 'gRPC'],
      ['plain startFlowServer, REST', plain, 'REST'],
    ] as const;
    for (const [label, target, surface] of cases) {
      await target.probe({ cmd: 'loop-start' });
      await target.probe({ cmd: 'alloc-start', delayMs: 0 });
      const started = performance.now();
      const open = openStreams(target, surface, n);
      const outcomes = await Promise.allSettled(open.streams.map((s) => s.done));
      const durationMs = performance.now() - started;
      const loop = await target.probe<ProbeLoop>({ cmd: 'loop-stop' });
      const gc = await target.probe<ProbeAlloc>({ cmd: 'alloc-stop' });
      open.close();
      delays.push({
        label,
        ...loop,
        failed: outcomes.filter((o) => o.status === 'rejected').length,
        durationMs,
        gcMaxPauseMs: gc.maxPauseMs,
        gcTotalPauseMs: gc.totalPauseMs,
      });
    }
    return { delays, rssMiB: await rssMiB(server.child.pid!) };
  } finally {
    await Promise.all([server.stop(), plain.stop()]);
  }
}
