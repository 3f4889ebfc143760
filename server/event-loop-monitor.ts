import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Event-loop delay for /health: p99 and max over the last 10-20 s (the
 * current window and the one before), so a load spike stays visible for a
 * while but old history does not dominate.
 */
export interface EventLoopStats {
  p99Ms: number;
  maxMs: number;
}

const WINDOW_MS = 10_000;

export function startEventLoopMonitor(): { stats(): EventLoopStats; stop(): void } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let previous: EventLoopStats = { p99Ms: 0, maxMs: 0 };
  const current = (): EventLoopStats => ({ p99Ms: toMs(histogram.percentile(99)), maxMs: toMs(histogram.max) });
  const timer = setInterval(() => {
    previous = current();
    histogram.reset();
  }, WINDOW_MS);
  timer.unref();
  return {
    stats: () => {
      const now = current();
      return { p99Ms: Math.max(now.p99Ms, previous.p99Ms), maxMs: Math.max(now.maxMs, previous.maxMs) };
    },
    stop: () => {
      clearInterval(timer);
      histogram.disable();
    },
  };
}

function toMs(nanoseconds: number): number {
  return Number.isFinite(nanoseconds) ? Math.round(nanoseconds / 1e4) / 100 : 0;
}
