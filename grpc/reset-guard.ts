import { constants, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';
import type { WarningSummary } from '../server/warning-summary.js';

/**
 * Rapid-reset defence (CVE-2023-44487) for the gRPC port. nghttp2 itself
 * closes a connection after a burst of 1000 client resets (then 33/s), but
 * every reset stream has already run grpc-js's handler and our interceptors,
 * and the attacker simply reconnects: 2 connections kept the event loop
 * blocked for seconds. Most of those streams are refused by the rate limiter
 * before the client's RST_STREAM is even read, so both count: a connection
 * whose client resets or gets refused (RESOURCE_EXHAUSTED) more than
 * `maxResetsPerSecond` calls in a second gets GOAWAY ENHANCE_YOUR_CALM and
 * is closed, and its address may not open a new gRPC connection for
 * `penaltyMs` — the refusal happens on accept, before any HTTP/2 work. An
 * honest client backs off after RESOURCE_EXHAUSTED (it carries retry-after).
 *
 * A balancer that relays its clients' cancellations shares one address for
 * many clients: keep the limit well above the cancellation rate of honest
 * traffic (default 200/s per connection), or set it to 0 behind such a proxy.
 */
export interface ResetGuardOptions {
  maxResetsPerSecond: number;
  penaltyMs: number;
}

/** Addresses remembered at once; expired entries are dropped when it fills. */
const MAX_PENALISED = 10_000;

function forgetExpired(penalised: Map<string, number>, now: number): void {
  for (const [ip, until] of penalised) if (until <= now) penalised.delete(ip);
}

/** Counts calls refused for a peer (`ip:port` / `[ipv6]:port`, grpc-js's getPeer()) against its connection's budget. */
export type RefusedCallReporter = (peer: string) => void;

export function guardAgainstRapidReset(netServer: NetServer, options: ResetGuardOptions, warnings: WarningSummary): RefusedCallReporter {
  if (options.maxResetsPerSecond <= 0) return () => undefined;
  const penalised = new Map<string, number>();
  const byPeer = new Map<string, () => void>();

  netServer.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const until = penalised.get(ip);
    if (until === undefined) return;
    if (performance.now() < until) {
      socket.destroy();
      return;
    }
    penalised.delete(ip);
  });

  netServer.on('session', (session: Http2Session) => {
    const ip = session.socket?.remoteAddress ?? '';
    const peer = ip.includes(':') ? `[${ip}]:${session.socket?.remotePort}` : `${ip}:${session.socket?.remotePort}`;
    let windowStart = performance.now();
    let count = 0;
    const strike = () => {
      if (session.destroyed) return;
      const now = performance.now();
      if (now - windowStart >= 1000) {
        windowStart = now;
        count = 0;
      }
      if (++count <= options.maxResetsPerSecond) return;
      if (penalised.size >= MAX_PENALISED) forgetExpired(penalised, now);
      penalised.set(ip, now + options.penaltyMs);
      warnings.note('grpc-rapid-reset', 'gRPC connection closed: too many calls reset or refused (rapid reset / flood); address refused for a while', {
        clientIp: ip,
        perSecond: count,
        penaltyMs: options.penaltyMs,
      });
      session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      session.destroy();
    };
    byPeer.set(peer, strike);
    session.once('close', () => byPeer.delete(peer));
    session.on('stream', (stream: ServerHttp2Stream) => {
      stream.once('close', () => {
        if (stream.rstCode !== constants.NGHTTP2_NO_ERROR) strike();
      });
    });
  });
  return (peer) => byPeer.get(peer)?.();
}
