import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';

/**
 * Server spans for REST come from OpenTelemetry's http instrumentation. It
 * patches every http.Server in the process, which includes Genkit's
 * reflection server under `genkit start`; a span there would become the
 * root of the Dev UI's own traces. So only requests to ports registered
 * here are traced, and health probes are left out (a probe every few
 * seconds would drown the real traces).
 */

const tracedPorts = new Set<number>();
const UNTRACED_PATHS = new Set(['/health']);

/** Trace the requests this (listening) server receives. */
export function traceRequestsTo(server: Server): void {
  const port = (server.address() as AddressInfo | null)?.port;
  if (port === undefined) return;
  tracedPorts.add(port);
  server.once('close', () => tracedPorts.delete(port));
}

export function isTracedRequest(req: IncomingMessage): boolean {
  if (!tracedPorts.has(req.socket.localPort ?? -1)) return false;
  return !UNTRACED_PATHS.has((req.url ?? '/').split('?')[0] ?? '/');
}

export function httpServerInstrumentation(): HttpInstrumentation {
  return new HttpInstrumentation({
    ignoreIncomingRequestHook: (req) => !isTracedRequest(req),
    // Nothing of ours calls out through node:http (the model plugin and the
    // image fetch use fetch); client spans would only be exporter traffic.
    ignoreOutgoingRequestHook: () => true,
  });
}
