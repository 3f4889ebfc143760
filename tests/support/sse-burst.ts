import { Worker } from 'node:worker_threads';

export interface SseBurstOutcome {
  /** Streams that ended with their result event. */
  completed: number;
  /** 503 answers (load shed), and how many of them carried Retry-After. */
  shed: number;
  retryAfter: number;
  /** Anything else, by status or error code. */
  other: Record<string, number>;
}

/**
 * Opens `count` REST SSE streams at once (one connection each) from a worker
 * thread, so the client's own work does not delay the test's probes.
 */
export function sseBurst(options: { port: number; path: string; body: string; count: number }): Promise<SseBurstOutcome> {
  const worker = new Worker(new URL('./sse-burst-worker.mjs', import.meta.url), { workerData: options });
  return new Promise((resolve, reject) => {
    worker.once('message', (outcome: SseBurstOutcome) => resolve(outcome));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`burst worker exited with ${code}`))));
  });
}
