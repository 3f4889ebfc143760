import type { AdmissionPacer } from '../server/admission-pacer.js';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ContextProvider } from 'genkit/context';
import { readFileSync } from 'node:fs';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { AnyFlow } from '../flows/index.js';
import type { SharedRateLimiter } from '../server/rate-limiter.js';
import type { InFlightCalls } from '../server/in-flight-calls.js';
import type { WarningSummary } from '../server/warning-summary.js';
import { guardGrpcConnections, grpcServerOptions, type GrpcLimits } from './http2-limits.js';
import type { DurableStreams } from '../server/streams/durable-streams.js';
import * as generatedMessages from '../generated/ts/genkit/flows/v1/flows.js';
import { FlowServiceService } from '../generated/ts/genkit/flows/v1/flows.js';
import { flowService } from './flow-service.js';
import { gatewayInterceptor } from './call-gateway.js';
import { LOCK_FILE } from './generated-paths.js';
import { MessageConverter } from './message-converter.js';
import { parseLock } from './proto-lock.js';
import { routeGrpcLogs } from './route-grpc-logs.js';
import { buildServiceModel, flowSchemas, FULL_SERVICE_NAME } from './service-model.js';

export interface GrpcServerOptions {
  flows: readonly AnyFlow[];
  host: string;
  /** 0 asks the OS for a free port. */
  port: number;
  /** Largest accepted request message in bytes (larger → RESOURCE_EXHAUSTED). */
  maxMessageBytes: number;
  /** Serve grpc.reflection (off by default in production). */
  reflection: boolean;
  contextProvider: ContextProvider;
  /** The per-client-IP limiter shared with REST. */
  limiter: SharedRateLimiter;
  logger: Logger;
  /** True once shutdown has begun. */
  isDraining: () => boolean;
  /** Resumable `<Flow>Stream` calls (x-genkit-stream-id metadata). */
  streams?: DurableStreams | null;
  /** Spreads bursts of new calls over event-loop turns (the same pacer as REST). */
  pacer?: AdmissionPacer;
  /** Adds server reflection; injected so this module does not depend on how descriptors are loaded. */
  addReflection?: (server: Server) => void;
  /** Per-connection stream cap, connection age/idle, session memory, connection caps. */
  limits: GrpcLimits;
  /** Calls in progress on both surfaces (shutdown ends them; streaming calls take a MAX_CONCURRENT_STREAMS slot). */
  calls: InFlightCalls;
  /** Repeated warnings summarised per window. */
  warnings: WarningSummary;
}

export interface RunningGrpcServer {
  port: number;
  health: HealthImplementation;
  server: Server;
  /** Health NOT_SERVING (readiness fails); calls are still served. */
  failReadiness(): void;
  /** GOAWAY and no new connections; resolves once in-flight calls (streams included) have finished. */
  stopAccepting(): Promise<void>;
  /** Cancels every call and connection left. */
  forceClose(): void;
  /**
   * failReadiness + stopAccepting, then forceClose after `graceMs` (for
   * callers without a drain window; the server uses server/graceful-shutdown.ts).
   */
  close(graceMs: number): Promise<void>;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  routeGrpcLogs(options.logger);
  // Bound once the HTTP/2 servers exist (after bindAsync); refused calls count against their connection.
  let reportRefused: (peer: string) => void = () => undefined;
  const server = new Server({
    ...grpcServerOptions(options.limits),
    'grpc.max_receive_message_length': options.maxMessageBytes,
    interceptors: [
      gatewayInterceptor({
        logger: options.logger,
        limiter: options.limiter,
        contextProvider: options.contextProvider,
        isDraining: options.isDraining,
        // Reflection describes the whole API: with API_KEYS it needs a key like the flows (and takes a rate-limit token).
        isExempt: (path) => path.startsWith('/grpc.health.v1.Health/'),
        calls: options.calls,
        warnings: options.warnings,
        onRefused: (peer) => reportRefused(peer),
        pacer: options.pacer,
      }),
    ],
  });
  const service = buildServiceModel(options.flows.map(flowSchemas));
  const converter = new MessageConverter(service.schema, parseLock(readFileSync(LOCK_FILE, 'utf8')));
  const { definition, implementation } = flowService({
    flows: options.flows,
    service,
    definition: FlowServiceService,
    messages: generatedMessages,
    converter,
    logger: options.logger,
    calls: options.calls,
    streams: options.streams ?? null,
  });
  server.addService(definition, implementation);

  const health = new HealthImplementation({ '': 'SERVING', [FULL_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);
  if (options.reflection) options.addReflection?.(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  reportRefused = guardGrpcConnections(server, options.limits, options.warnings, options.logger);
  const failReadiness = () => {
    health.setStatus('', 'NOT_SERVING');
    health.setStatus(FULL_SERVICE_NAME, 'NOT_SERVING');
  };
  // tryShutdown closes each HTTP/2 session gracefully: GOAWAY, then in-flight streams run to their end.
  const stopAccepting = () => new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  const forceClose = () => server.forceShutdown();
  return {
    port,
    health,
    server,
    failReadiness,
    stopAccepting,
    forceClose,
    close: async (graceMs) => {
      failReadiness();
      const force = setTimeout(forceClose, graceMs);
      await stopAccepting();
      clearTimeout(force);
    },
  };
}
