import { context } from '@opentelemetry/api';

/**
 * Starts new calls to the flows in batches: every call waits for the check
 * phase of the event-loop turn it arrived in (`setImmediate`), and each turn
 * starts at most `perTurn` of them, in arrival order.
 *
 * Why every call, not only bursts:
 * - **Bursts.** 1000 streams opened at once would otherwise all start inside
 *   one poll phase. Each runs its synchronous start back to back (parsing,
 *   validation, Genkit's flow and model set-up), and the event loop stalls
 *   for hundreds of milliseconds: every open stream's next chunk, every timer
 *   and /health wait behind it. Their model timers also land in the same
 *   millisecond, so each later chunk round repeats the stall. Started in
 *   slices, the burst is spread over turns, with timers and I/O in between,
 *   and so are the chunk rounds.
 * - **Steady load costs less CPU per call when its calls start together.**
 *   Started inline, each request runs alone through all of its promise hops
 *   before the next socket is read, because microtasks drain after each
 *   socket's callback. Started from one immediate, the batch advances in
 *   lockstep through the same code: the limiter, the body parser, Genkit's
 *   action and span layers, the model, the response. Measured side by side
 *   (2026-11-26, 2 cores, REST tellJoke, process CPU per request):
 *   - inline: 825 µs at 16 connections;
 *   - batched: 445 µs at 16 connections, 709 vs 800 µs at 1;
 *   - inline, the same cliff: 698–825 µs up to 16 connections, 520 µs from 17
 *     on, the point where arrivals outran the budget and began to batch.
 *   Deferring each call alone (`process.nextTick`, `queueMicrotask`) gained
 *   little (645–684 µs): it is the batch that helps.
 *
 * The wait is the rest of the turn's poll phase, the reading of the other
 * ready sockets. A call waits longer only while more than `perTurn` others
 * are starting ahead of it. Shared by REST and gRPC, so one budget covers
 * both surfaces.
 *
 * On gRPC this wait is also the rapid-reset check: a client that sends
 * HEADERS, DATA and RST_STREAM back to back has its reset read in the same
 * poll phase, so the call is over before its turn comes and never starts
 * (grpc/call-gateway.ts skips it; `tests/grpc-gateway-pacing.test.ts`).
 */
/**
 * Calls started per turn: about 16 × ~1 ms of synchronous start-up per call
 * keeps a turn near 15-20 ms on this project's 2-core machine, while steady
 * load at c=64 rarely has more than that many requests ready in one turn.
 */
export const ADMISSIONS_PER_TURN = 16;

export interface AdmissionPacer {
  /** Runs `start` in this turn's check phase, or a later turn's while earlier arrivals fill the batches. */
  admit(start: () => void): void;
}

export function createAdmissionPacer(perTurn: number): AdmissionPacer {
  const waiting: Array<() => void> = [];
  let head = 0;
  let scheduled = false;

  const startBatch = () => {
    scheduled = false;
    const end = Math.min(head + perTurn, waiting.length);
    try {
      while (head < end) {
        const start = waiting[head]!;
        waiting[head++] = undefined as never;
        start();
      }
    } finally {
      if (head === waiting.length) waiting.length = head = 0;
      // setImmediate from inside the check phase runs in the next turn, after timers and I/O.
      else schedule();
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(startBatch);
  };

  return {
    admit(start) {
      waiting.push(start);
      schedule();
    },
  };
}

/**
 * Starts a call through the pacer (or at once without one). The call resumes
 * in the OpenTelemetry context it arrived in, so its spans and log lines stay
 * in its trace.
 */
export function admitCall(pacer: AdmissionPacer | undefined, start: () => void): void {
  if (!pacer) return start();
  const active = context.active();
  pacer.admit(() => context.with(active, start));
}
