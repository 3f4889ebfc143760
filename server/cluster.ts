import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { RateLimiterClusterMaster } from 'rate-limiter-flexible';
import type { WorkersMessage } from './cluster-worker.js';
import type { ServerConfig } from './config.js';

/**
 * The primary of `WEB_CONCURRENCY=N` (node:cluster): it serves nothing
 * itself. It forks N workers, each a full server (REST + gRPC) listening on the
 * same ports (cluster shares the listening sockets and hands connections out
 * round-robin), keeps the workers' shared rate-limit budget
 * (RateLimiterClusterMaster), replaces a worker that dies (with backoff when
 * workers keep dying young), and on SIGTERM/SIGINT forwards the signal, waits
 * for every worker to drain and exits 0 (1 if a worker failed or the drain
 * overran).
 */

/** A worker that lived this long is healthy: its death resets the backoff. */
const HEALTHY_AFTER_MS = 30_000;
const MAX_BACKOFF_MS = 10_000;
/** Past the grace period, how long the primary waits before killing workers that still run. */
const EXIT_SLACK_MS = 5_000;

export function runPrimary(config: ServerConfig, baseLogger: Logger): Promise<void> {
  const logger = baseLogger.child({ role: 'primary', pid: process.pid });
  new RateLimiterClusterMaster();
  const target = config.workers;
  // Listening sockets per worker: REST, plus gRPC when on. A worker serves once all are up.
  const socketsPerWorker = config.grpcPort === null ? 1 : 2;
  const listening = new Map<number, number>();
  const startedAt = new Map<number, number>();
  let youngDeaths = 0;
  let stopping = false;
  let failed = false;

  const serving = () => [...listening.values()].filter((n) => n >= socketsPerWorker).length;
  const broadcast = () => {
    const message: WorkersMessage = { type: 'gateway:workers', serving: serving(), configured: target };
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker?.isConnected()) worker.send(message, undefined, () => undefined);
    }
  };
  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
    listening.set(worker.id, 0);
  };

  cluster.on('listening', (worker: Worker) => {
    const count = (listening.get(worker.id) ?? 0) + 1;
    listening.set(worker.id, count);
    if (count === socketsPerWorker) {
      logger.info({ worker: worker.id, workerPid: worker.process.pid, serving: serving(), configured: target }, `Worker ${worker.id} serving`);
      broadcast();
    }
  });

  return new Promise<void>((resolve) => {
    cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
      listening.delete(worker.id);
      const lived = Date.now() - (startedAt.get(worker.id) ?? Date.now());
      startedAt.delete(worker.id);
      if (stopping) {
        if (code !== 0) failed = true;
        logger.info({ worker: worker.id, code, signal }, `Worker ${worker.id} stopped`);
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve();
        return;
      }
      youngDeaths = lived >= HEALTHY_AFTER_MS ? 0 : youngDeaths + 1;
      const delayMs = youngDeaths === 0 ? 0 : Math.min(MAX_BACKOFF_MS, 100 * 2 ** (youngDeaths - 1));
      logger.error({ worker: worker.id, code, signal, livedMs: lived, restartInMs: delayMs }, `Worker ${worker.id} died: starting a new one`);
      broadcast();
      setTimeout(() => {
        if (!stopping) fork();
      }, delayMs);
    });

    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'Primary: draining every worker');
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      if (workers.length === 0) resolve();
      for (const worker of workers) worker.process.kill(signal);
      setTimeout(() => {
        for (const worker of Object.values(cluster.workers ?? {})) {
          logger.error({ worker: worker?.id }, 'Worker did not finish draining in time: killing it');
          worker?.process.kill('SIGKILL');
        }
        failed = true;
      }, config.shutdownGraceMs + EXIT_SLACK_MS).unref();
    };
    // Importing genkit (through the config) installs handlers that exit at once; the primary owns its shutdown.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.removeAllListeners(signal);
      process.on(signal, stop);
    }

    logger.info({ workers: target }, `Primary starting ${target} workers`);
    for (let i = 0; i < target; i++) fork();
  }).then(() => {
    logger.info({ failed }, failed ? 'Stopped (a worker failed to drain cleanly)' : 'Stopped');
    process.exitCode = failed ? 1 : 0;
  });
}
