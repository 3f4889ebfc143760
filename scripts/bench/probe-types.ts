/** What the bench probe (scripts/bench/probe.mjs) answers over IPC. */

export type ProbeRequest =
  | { id: number; cmd: 'memory' }
  | { id: number; cmd: 'loop-start' }
  | { id: number; cmd: 'loop-stop' }
  | { id: number; cmd: 'alloc-start'; delayMs: number }
  | { id: number; cmd: 'alloc-stop' }
  | { id: number; cmd: 'snapshot'; file: string };

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
