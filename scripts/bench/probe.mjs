import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * Bench-only preload (`node --expose-gc --import ./scripts/bench/probe.mjs`,
 * spawned with an IPC channel): lets the bench ask a server process, at exact
 * moments, for what only the process itself can see. Nothing of this is in
 * the product; without an IPC channel it does nothing. Plain JavaScript, so
 * the server under test runs as `npm start` runs it (no tsx). Replies are
 * typed in probe-types.ts.
 *
 * - `memory`: forced full GC (twice, so weak references are cleared too),
 *   then heap used + external bytes, heap total and RSS.
 * - `loop-start` / `loop-stop`: event-loop delay (p99, max) over a window.
 * - `alloc-start` (after `delayMs`) / `alloc-stop`: bytes allocated on the
 *   V8 heap in the window, from the heap size before each GC minus the size
 *   after the one before (v8.GCProfiler), plus what was allocated since the
 *   last; and the GC pauses in the window.
 * - `snapshot`: a heap snapshot to `file` (for diffing by hand).
 */

if (process.send) {
  const gc = globalThis.gc;
  let loop = null;
  let alloc = null;
  let allocTimer = null;

  const handlers = {
    memory: () => {
      if (!gc) throw new Error('start the process with --expose-gc');
      gc();
      gc();
      const usage = process.memoryUsage();
      return { heapBytes: usage.heapUsed + usage.external, heapTotalBytes: usage.heapTotal, rssBytes: usage.rss };
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
      const result = { p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 };
      loop = null;
      return result;
    },
    'alloc-start': (request) => {
      allocTimer = setTimeout(() => {
        const profiler = new v8.GCProfiler();
        profiler.start();
        alloc = { profiler, usedAtStart: v8.getHeapStatistics().used_heap_size };
      }, request.delayMs);
      return {};
    },
    'alloc-stop': () => {
      if (allocTimer) clearTimeout(allocTimer);
      if (!alloc) throw new Error('the allocation window never started');
      const usedNow = v8.getHeapStatistics().used_heap_size;
      const statistics = alloc.profiler.stop()?.statistics ?? [];
      let bytes = 0;
      let usedAfterLast = alloc.usedAtStart;
      const pauseMsByType = {};
      let maxPauseMs = 0;
      let totalPauseMs = 0;
      for (const gcRun of statistics) {
        bytes += Math.max(0, gcRun.beforeGC.heapStatistics.usedHeapSize - usedAfterLast);
        usedAfterLast = gcRun.afterGC.heapStatistics.usedHeapSize;
        const pauseMs = gcRun.cost / 1000;
        maxPauseMs = Math.max(maxPauseMs, pauseMs);
        totalPauseMs += pauseMs;
        pauseMsByType[gcRun.gcType] = (pauseMsByType[gcRun.gcType] ?? 0) + pauseMs;
      }
      bytes += Math.max(0, usedNow - usedAfterLast);
      alloc = null;
      return { bytes, gcs: statistics.length, maxPauseMs, totalPauseMs, pauseMsByType };
    },
    snapshot: (request) => v8.writeHeapSnapshot(request.file),
  };

  process.on('message', (request) => {
    // Other commands belong to the script the probe is loaded into.
    if (!Object.hasOwn(handlers, request.cmd)) return;
    let reply;
    try {
      reply = { id: request.id, result: handlers[request.cmd](request) };
    } catch (e) {
      reply = { id: request.id, error: e instanceof Error ? e.message : String(e) };
    }
    process.send(reply);
  });
  // The IPC channel must not keep a server alive after SIGTERM.
  process.channel?.unref();
}
