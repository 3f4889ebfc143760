import { context } from '@opentelemetry/api';

/**
 * Admits new calls to the flows in slices of `perTurn` per event-loop turn.
 *
 * A burst of arrivals (1000 streams opened at once) otherwise starts every
 * call inside one poll phase: each runs its synchronous start (parsing,
 * validation, Genkit's flow and model set-up) back to back, and the event
 * loop stalls for hundreds of milliseconds — every open stream's next chunk,
 * every timer and /health wait behind it. Their model timers also land in the
 * same millisecond, so each later chunk round repeats the stall. Admitted in
 * slices, the burst is spread over turns (timers and I/O run in between) and
 * so are the chunk rounds. The CPU cost is the same; a call waits only while
 * more than `perTurn` others are starting ahead of it. Shared by REST and
 * gRPC, so one budget covers both surfaces.
 */
/**
 * Calls started per turn: about 16 × ~1 ms of synchronous start-up per call
 * keeps a turn near 15-20 ms on this project's 2-core machine, while steady
 * load at c=64 rarely has more than that many requests ready in one turn.
 */
export const ADMISSIONS_PER_TURN = 16;

export interface AdmissionPacer {
  /** True (and counted) when a call may start now, in this turn. */
  tryAdmit(): boolean;
  /** Runs `start` in a later turn, in arrival order (after `tryAdmit` said no). */
  defer(start: () => void): void;
}

export function createAdmissionPacer(perTurn: number): AdmissionPacer {
  let budget = perTurn;
  let refillScheduled = false;
  const waiting: Array<() => void> = [];
  let head = 0;

  const refill = () => {
    refillScheduled = false;
    budget = perTurn;
    try {
      while (budget > 0 && head < waiting.length) {
        budget--;
        const start = waiting[head]!;
        waiting[head++] = undefined as never;
        start();
      }
    } finally {
      if (head === waiting.length) waiting.length = head = 0;
      // setImmediate from inside the check phase runs in the next turn, after timers and I/O.
      scheduleRefill();
    }
  };
  const scheduleRefill = () => {
    if (refillScheduled || (budget === perTurn && head === waiting.length)) return;
    refillScheduled = true;
    setImmediate(refill);
  };

  return {
    tryAdmit() {
      if (budget === 0 || head < waiting.length) return false;
      budget--;
      scheduleRefill();
      return true;
    },
    defer(start) {
      waiting.push(start);
      scheduleRefill();
    },
  };
}

/**
 * Starts a call through the pacer (or at once without one). A deferred call
 * resumes in the OpenTelemetry context it arrived in, so its spans and log
 * lines stay in its trace.
 */
export function admitCall(pacer: AdmissionPacer | undefined, start: () => void): void {
  if (!pacer || pacer.tryAdmit()) return start();
  const active = context.active();
  pacer.defer(() => context.with(active, start));
}
