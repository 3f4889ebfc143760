import { Worker } from 'node:worker_threads';

/**
 * HTTP/2 attack clients for the flood tests, bounded in time. A plain
 * node:http2 client, not grpc-js: it must do what a hostile client does. It
 * runs in a worker thread so that its own work (thousands of stream events)
 * does not delay the test's probes, which would blame the server for it.
 */
export interface RapidResetResult {
  /** Streams opened (each sent its request, then RST_STREAM at once). */
  streams: number;
  sessionsOpened: number;
  /** Connections the server ended (GOAWAY, close) or refused; each is retried. */
  sessionsEndedByServer: number;
}

export function rapidReset(options: { port: number; path: string; connections: number; durationMs: number; batch?: number }): Promise<RapidResetResult> {
  const worker = new Worker(new URL('./h2-rapid-reset-worker.mjs', import.meta.url), { workerData: options });
  return new Promise((resolve, reject) => {
    worker.once('message', (result: RapidResetResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`flood worker exited with ${code}`))));
  });
}
