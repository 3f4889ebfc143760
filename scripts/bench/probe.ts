import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * Bench-only preload (`--import ./scripts/bench/probe.ts`, with
 * `--expose-gc` and an IPC channel): lets the bench ask a server process,
 * at exact moments, for what only the process itself can see. Nothing of
 * this is in the product; without an IPC channel it does nothing.
 *
 * - `memory`: forced full GC (twice, so weak references are cleared too),
 *   then heap used + external bytes and RSS.
 * - `loop-start` / `loop-stop`: event-loop delay (p99, max) over a window.
 * - `alloc-start` (after `delayMs`) / `alloc-stop`: bytes allocated on the
 *   V8 heap in the window, from the heap size before each GC minus the size
 *   after the one before (v8.GCProfiler), plus what was allocated since the last.
 */

export type ProbeRequest =
  | { id: number; cmd: 'memory' }
  | { id: number; cmd: 'loop-start' }
  | { id: number; cmd: 'loop-stop' }
  | { id: number; cmd: 'alloc-start'; delayMs: number }
  | { id: number; cmd: 'alloc-stop' };

export interface ProbeMemory {
  /** V8 heap used + external (Buffers, ArrayBuffers) after the GC. */
  heapBytes: number;
  /** V8 heap reserved (used or not). */
  heapTotalBytes: number;
  rssBytes: number;
}
export interface ProbeLoop {
  p99Ms: number;
  maxMs: number;
}
export interface ProbeAlloc {
  bytes: number;
  gcs: number;
  /** The longest GC pause in the window, and the sum of all. */
  maxPauseMs: number;
  totalPauseMs: number;
  /** Pause total by GC type (Scavenge, MarkSweepCompact, …). */
  pauseMsByType: Record<string, number>;
}

interface GcStatistics {
  /** µs */
  cost: number;
  gcType: string;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}
interface GcProfiler {
  start(): void;
  stop(): { statistics: GcStatistics[] } | undefined;
}

if (process.send) {
  const gc = (globalThis as { gc?: () => void }).gc;
  let loop: IntervalHistogram | null = null;
  let alloc: { profiler: GcProfiler; usedAtStart: number } | null = null;
  let allocTimer: NodeJS.Timeout | null = null;

  const handlers: Record<string, (request: ProbeRequest) => unknown> = {
    snapshot: (request) => v8.writeHeapSnapshot((request as unknown as { file: string }).file),
    memory: () => {
      if (!gc) throw new Error('start the process with --expose-gc');
      gc();
      gc();
      const usage = process.memoryUsage();
      return { heapBytes: usage.heapUsed + usage.external, heapTotalBytes: usage.heapTotal, rssBytes: usage.rss } satisfies ProbeMemory;
    },
    'loop-start': () => {
      loop?.disable();
      loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      return {};
    },
    'loop-stop': () => {
      if (!loop) throw new Error('loop-start first');
      loop.disable();
      const result: ProbeLoop = { p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 };
      loop = null;
      return result;
    },
    'alloc-start': (request) => {
      const delayMs = (request as { delayMs: number }).delayMs;
      allocTimer = setTimeout(() => {
        const profiler = new (v8 as unknown as { GCProfiler: new () => GcProfiler }).GCProfiler();
        profiler.start();
        alloc = { profiler, usedAtStart: v8.getHeapStatistics().used_heap_size };
      }, delayMs);
      return {};
    },
    'alloc-stop': () => {
      if (allocTimer) clearTimeout(allocTimer);
      if (!alloc) throw new Error('the allocation window never started');
      const usedNow = v8.getHeapStatistics().used_heap_size;
      const statistics = alloc.profiler.stop()?.statistics ?? [];
      let bytes = 0;
      let usedAfterLast = alloc.usedAtStart;
      for (const gcRun of statistics) {
        bytes += Math.max(0, gcRun.beforeGC.heapStatistics.usedHeapSize - usedAfterLast);
        usedAfterLast = gcRun.afterGC.heapStatistics.usedHeapSize;
      }
      bytes += Math.max(0, usedNow - usedAfterLast);
      alloc = null;
      const pauses = statistics.map((gcRun) => gcRun.cost / 1000);
      return {
        bytes,
        gcs: statistics.length,
        maxPauseMs: Math.max(0, ...pauses),
        totalPauseMs: pauses.reduce((a, b) => a + b, 0),
        pauseMsByType: statistics.reduce<Record<string, number>>((byType, gcRun) => {
          byType[gcRun.gcType] = (byType[gcRun.gcType] ?? 0) + gcRun.cost / 1000;
          return byType;
        }, {}),
      } satisfies ProbeAlloc;
    },
  };

  process.on('message', (request: ProbeRequest) => {
    // Other commands belong to the script the probe is loaded into.
    if (!Object.hasOwn(handlers, request.cmd)) return;
    let reply: { id: number; result?: unknown; error?: string };
    try {
      reply = { id: request.id, result: handlers[request.cmd](request) };
    } catch (e: unknown) {
      reply = { id: request.id, error: e instanceof Error ? e.message : String(e) };
    }
    process.send!(reply);
  });
  // The IPC channel must not keep a server alive after SIGTERM.
  process.channel?.unref();
}
