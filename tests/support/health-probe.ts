import { get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { rssMiB } from './process-stats.js';

export interface ProbeReport {
  /** Latency of each /health probe in ms (a failed or timed-out probe counts as Infinity). */
  latencies: number[];
  failed: number;
  maxMs: number;
  rssPeakMiB: number;
}

/**
 * Probes GET /health on a new connection every `everyMs` (as a kubelet does)
 * and samples the server's RSS, until `stop()`; from another loopback address
 * when asked, so per-IP caps aimed at an attacker on 127.0.0.1 do not apply.
 */
export function probeHealth(port: number, pid: number, options: { everyMs?: number; timeoutMs?: number; localAddress?: string } = {}) {
  const latencies: number[] = [];
  let failed = 0;
  let rssPeakMiB = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      const ok = await new Promise<boolean>((resolve) => {
        const req = get({ host: '127.0.0.1', port, path: '/health', agent: false, localAddress: options.localAddress, timeout: options.timeoutMs ?? 3000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200));
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
      });
      latencies.push(ok ? performance.now() - started : Infinity);
      if (!ok) failed++;
      rssPeakMiB = Math.max(rssPeakMiB, await rssMiB(pid).catch(() => 0));
      await sleep(options.everyMs ?? 100);
    }
  })();
  return {
    async stop(): Promise<ProbeReport> {
      stopped = true;
      await loop;
      return { latencies, failed, maxMs: Math.round(Math.max(0, ...latencies)), rssPeakMiB };
    },
  };
}
