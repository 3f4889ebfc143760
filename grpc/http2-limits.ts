import type { ChannelOptions, Server } from '@grpc/grpc-js';
import type { Server as NetServer, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { WarningSummary } from '../server/warning-summary.js';
import { guardAgainstRapidReset, type RefusedCallReporter } from './reset-guard.js';

/**
 * Bounds on what one HTTP/2 client can make the gRPC port hold. Without them
 * grpc-js advertises no SETTINGS_MAX_CONCURRENT_STREAMS (8000 slow streams on
 * one connection took 1.2 GB) and lets a session buffer without limit.
 */
export interface GrpcLimits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: concurrent calls per connection. */
  maxConcurrentStreams: number;
  /** A connection gets GOAWAY after this long (±10 % jitter, grpc-js), so clients rebalance; 0 = never. */
  maxConnectionAgeMs: number;
  /** After the age GOAWAY, in-flight calls get this long before the connection is closed. */
  maxConnectionAgeGraceMs: number;
  /** A connection with no call for this long gets GOAWAY; 0 = never. */
  maxConnectionIdleMs: number;
  /** Node's per-session memory cap (frames, headers, buffered output); over it new streams are refused. */
  maxSessionMemoryMb: number;
  /** Shared with REST: open connections at once (0 = no cap), and per client address. */
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Client stream resets per second on one connection before it is closed (rapid reset); 0 = off. */
  maxResetsPerSecond: number;
  /** How long an address that was closed for rapid reset may not reconnect. */
  resetPenaltyMs: number;
}

/** grpc-js server options for the limits (and channelz off: it tracks every call and nobody reads it here). */
export function grpcServerOptions(limits: GrpcLimits): ChannelOptions {
  return {
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    ...(limits.maxConnectionAgeMs > 0
      ? { 'grpc.max_connection_age_ms': limits.maxConnectionAgeMs, 'grpc.max_connection_age_grace_ms': limits.maxConnectionAgeGraceMs }
      : {}),
    ...(limits.maxConnectionIdleMs > 0 ? { 'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs } : {}),
    'grpc-node.max_session_memory': limits.maxSessionMemoryMb,
    'grpc.enable_channelz': 0,
  };
}

/**
 * Connection caps and the rapid-reset guard on the HTTP/2 servers grpc-js
 * creates. grpc-js 1.14 has no option for them and keeps its servers in the
 * private `http2Servers` map, so we reach in after `bindAsync`; if a later
 * grpc-js renames the field they are skipped with a warning instead of
 * failing the start (tests/grpc-floods.test.ts would then fail).
 */
export function guardGrpcConnections(server: Server, limits: GrpcLimits, warnings: WarningSummary, logger: Logger): RefusedCallReporter {
  const http2Servers = (server as unknown as { http2Servers?: Map<NetServer, unknown> }).http2Servers;
  if (!(http2Servers instanceof Map)) {
    logger.warn('grpc-js no longer exposes its HTTP/2 servers: connection caps and the rapid-reset guard do not apply to gRPC');
    return () => undefined;
  }
  const reporters: RefusedCallReporter[] = [];
  for (const netServer of http2Servers.keys()) {
    reporters.push(guardAgainstRapidReset(netServer, { maxResetsPerSecond: limits.maxResetsPerSecond, penaltyMs: limits.resetPenaltyMs }, warnings));
    if (limits.maxConnections > 0) netServer.maxConnections = limits.maxConnections;
    netServer.on('drop', () => warnings.note('grpc-max-connections', 'gRPC connection refused: MAX_CONNECTIONS reached'));
    if (limits.maxConnectionsPerIp > 0) capPerIp(netServer, limits.maxConnectionsPerIp, warnings);
  }
  return (peer) => {
    for (const report of reporters) report(peer);
  };
}

function capPerIp(netServer: NetServer, max: number, warnings: WarningSummary): void {
  const perIp = new Map<string, number>();
  netServer.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const count = (perIp.get(ip) ?? 0) + 1;
    if (count > max) {
      warnings.note('grpc-max-connections-per-ip', 'gRPC connection refused: MAX_CONNECTIONS_PER_IP reached', { clientIp: ip });
      socket.destroy();
      return;
    }
    perIp.set(ip, count);
    socket.once('close', () => {
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left > 0) perIp.set(ip, left);
      else perIp.delete(ip);
    });
  });
}
