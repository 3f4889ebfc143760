import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { HttpConnections } from './http-connections.js';
import { shutdownAbortReason, type InFlightCalls } from './in-flight-calls.js';

/**
 * Graceful shutdown of both surfaces, in the order a rolling restart behind a
 * load balancer (Kubernetes, Cloud Run, ALB) needs so that no request is lost:
 *
 * 1. Drain window (`delayMs`, SHUTDOWN_DELAY_MS): readiness fails (/health
 *    503, gRPC health NOT_SERVING) while both listeners stay open and every
 *    call is still served, because the balancer keeps sending traffic until
 *    it has seen the failing probe or the endpoint removal. REST responses
 *    now say `Connection: close`, so keep-alive clients move away after their
 *    next response.
 * 2. Close (`graceMs`, SHUTDOWN_GRACE_MS): listeners stop accepting; gRPC
 *    sends GOAWAY and lets in-flight calls finish; REST closes each socket
 *    after its response, and idle keep-alive sockets only once they have
 *    been quiet for IDLE_QUIET_MS (closing a socket a client is just sending
 *    on is what produced ECONNRESET).
 * 3. Deadline: calls still running are aborted with UNAVAILABLE — an SSE
 *    `error:` event on REST, a gRPC status — and get ABORT_FLUSH_MS to write
 *    it; then every connection left is destroyed.
 *
 * The process can therefore take up to delayMs + graceMs + ABORT_FLUSH_MS;
 * the orchestrator's kill timeout (terminationGracePeriodSeconds) must be longer.
 */

/** An idle keep-alive socket is closed during the drain only after this much quiet. */
export const IDLE_QUIET_MS = 1000;
/** Time aborted calls get to write their final error event or status. */
export const ABORT_FLUSH_MS = 1000;

export interface GrpcDrain {
  /** GOAWAY to every connection, no new connections; resolves once in-flight calls have finished. */
  stopAccepting(): Promise<void>;
  /** Cancels whatever is left. */
  forceClose(): void;
}

export interface ShutdownParts {
  delayMs: number;
  graceMs: number;
  http: HttpConnections;
  grpc: GrpcDrain | null;
  calls: InFlightCalls;
  /** Turns readiness off (/health 503, gRPC health NOT_SERVING). */
  failReadiness(): void;
  logger: Logger;
}

export async function drainAndClose(parts: ShutdownParts): Promise<void> {
  const { http, grpc, calls, logger } = parts;
  parts.failReadiness();
  http.closeAfterEachResponse();
  if (parts.delayMs > 0) {
    logger.info({ delayMs: parts.delayMs }, 'Readiness failing; still serving during the drain window');
    await sleep(parts.delayMs);
  }

  const sweep = setInterval(() => http.closeIdle(IDLE_QUIET_MS), 50);
  const closed = Promise.all([http.stopListening(), grpc?.stopAccepting()]).then(() => true);
  // The grace and flush timers lose their race when everything closes in time; they are cancelled
  // then, else a pending timer keeps the process (or an in-process test) alive for the whole grace.
  const timers = new AbortController();
  try {
    if (await Promise.race([closed, sleep(parts.graceMs, false, { signal: timers.signal })])) return;
    logger.warn({ calls: calls.size, streams: calls.streams, graceMs: parts.graceMs }, 'Grace period over: ending the calls still running');
    calls.abortAll(shutdownAbortReason());
    await Promise.race([closed, sleep(ABORT_FLUSH_MS, undefined, { signal: timers.signal })]);
    http.destroyAll();
    grpc?.forceClose();
  } finally {
    timers.abort();
    clearInterval(sweep);
  }
}
