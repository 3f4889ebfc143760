import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { WarningSummary } from './warning-summary.js';

/**
 * The REST listener's connection policy: production timeouts, connection
 * caps, and the socket bookkeeping graceful shutdown needs.
 */

export interface HttpLimits {
  /** How long an idle keep-alive socket stays open; above load-balancer idle timeouts (AWS ALB 60 s). */
  keepAliveTimeoutMs: number;
  /** Time allowed to receive a request's headers (kept above keepAliveTimeoutMs). */
  headersTimeoutMs: number;
  /** Time allowed to receive a whole request, headers and body (slow clients get 408). */
  requestTimeoutMs: number;
  /** Open connections accepted at once (0 = no cap). */
  maxConnections: number;
  /** Open connections accepted at once from one client address (0 = no cap). */
  maxConnectionsPerIp: number;
}

/**
 * Options for `http.createServer`. Node checks header and request timeouts on
 * an interval (30 s by default), which would let a slow client overstay a
 * short timeout by up to 30 s; check at a quarter of the shorter timeout.
 */
export function httpServerOptions(limits: HttpLimits): ServerOptions {
  const shortest = Math.min(...[limits.headersTimeoutMs, limits.requestTimeoutMs].filter((t) => t > 0), 30_000);
  return {
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(shortest / 4))),
  };
}

/** One socket's state: requests in progress and since when it has had none. */
interface SocketState {
  inFlight: number;
  idleSince: number;
  /** bytesRead when a sweep last found the socket idle long enough; -1 when not marked. */
  markedAt: number;
}

export interface HttpConnections {
  /** Open sockets now. */
  readonly open: number;
  /** From now on every response says `Connection: close` and the socket closes after it. */
  closeAfterEachResponse(): void;
  /**
   * Stops accepting connections without touching open sockets (unlike
   * `http.Server.close()`, which closes idle keep-alive sockets at once —
   * racing a client that is sending its next request on one: ECONNRESET).
   * Resolves when every socket has closed.
   */
  stopListening(): Promise<void>;
  /**
   * Closes sockets with no request in progress that have been idle for at
   * least `quietMs` — on the second sweep that finds them so with no byte
   * read in between. After the event loop was blocked, timers run before
   * sockets are read: a request already waiting in the socket would look
   * idle to the first sweep, and the poll phase before the next sweep reads it.
   */
  closeIdle(quietMs: number): void;
  /** Destroys every socket left. */
  destroyAll(): void;
}

/** Applies the caps to `server` and tracks its sockets. Call before `listen`. */
export function manageHttpConnections(server: Server, limits: HttpLimits, warnings: WarningSummary): HttpConnections {
  // Node ≥ 18 sets these from the createServer options too; set them again in case the server was made without them.
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  server.on('drop', () => warnings.note('rest-max-connections', 'REST connection refused: MAX_CONNECTIONS reached'));

  const sockets = new Map<Socket, SocketState>();
  const perIp = new Map<string, number>();
  let closing = false;

  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    if (limits.maxConnectionsPerIp > 0) {
      const count = (perIp.get(ip) ?? 0) + 1;
      if (count > limits.maxConnectionsPerIp) {
        warnings.note('rest-max-connections-per-ip', 'REST connection refused: MAX_CONNECTIONS_PER_IP reached', { clientIp: ip });
        socket.destroy();
        return;
      }
      perIp.set(ip, count);
    }
    sockets.set(socket, { inFlight: 0, idleSince: performance.now(), markedAt: -1 });
    socket.once('close', () => {
      sockets.delete(socket);
      if (limits.maxConnectionsPerIp > 0) {
        const left = (perIp.get(ip) ?? 1) - 1;
        if (left > 0) perIp.set(ip, left);
        else perIp.delete(ip);
      }
    });
  });

  // Runs before the app sees the request, so the header is decided before any response starts.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const state = sockets.get(req.socket);
    if (closing) res.shouldKeepAlive = false;
    if (!state) return;
    state.inFlight++;
    state.markedAt = -1;
    res.once('close', () => {
      state.inFlight--;
      state.idleSince = performance.now();
    });
  });

  return {
    get open() {
      return sockets.size;
    },
    closeAfterEachResponse() {
      closing = true;
    },
    stopListening() {
      return new Promise((resolve) => {
        // net.Server.close: stop listening; its callback runs once the last socket has closed.
        NetServer.prototype.close.call(server, () => resolve());
      });
    },
    closeIdle(quietMs) {
      const now = performance.now();
      for (const [socket, state] of sockets) {
        if (state.inFlight > 0 || now - state.idleSince < quietMs) continue;
        if (state.markedAt === socket.bytesRead) socket.destroy();
        else state.markedAt = socket.bytesRead;
      }
    },
    destroyAll() {
      for (const socket of sockets.keys()) socket.destroy();
    },
  };
}
