import cluster from 'node:cluster';

/**
 * The worker side of `WEB_CONCURRENCY`: how many workers serve, as the
 * primary reports it (for /health). In a single process this process is the one.
 */

/** IPC message the primary sends every worker when the number serving changes. */
export interface WorkersMessage {
  type: 'gateway:workers';
  serving: number;
  configured: number;
}

let reported: WorkersMessage | null = null;
if (cluster.isWorker) {
  process.on('message', (message: Partial<WorkersMessage> | null) => {
    if (message?.type === 'gateway:workers') reported = message as WorkersMessage;
  });
}

/** Workers serving on this machine's ports, of how many configured. */
export function workerInfo(configured: number): { serving: number; configured: number } {
  if (!cluster.isWorker) return { serving: 1, configured: 1 };
  return { serving: reported?.serving ?? 1, configured };
}
