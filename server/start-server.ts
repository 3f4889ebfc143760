import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { defineFlows, type AnyFlow } from '../flows/index.js';
import { loadGenkit } from '../genkit.config.js';
import { startInterpreted } from '../flows/schema-validation-tier.js';
import { DESCRIPTOR_SET, OPENAPI_FILE } from '../grpc/generated-paths.js';
import type { RunningGrpcServer } from '../grpc/server.js';
import { createRestApp } from '../rest/app.js';
import { withStreamAdmission } from '../rest/stream-admission.js';
import { DEBUG_TURNS_ON, type ServerConfig } from './config.js';
import { createFlowContextProvider } from './flow-context.js';
import { startEventLoopMonitor } from './event-loop-monitor.js';
import { createAdmissionPacer, ADMISSIONS_PER_TURN } from './admission-pacer.js';
import { drainAndClose } from './graceful-shutdown.js';
import { httpServerOptions, manageHttpConnections } from './http-connections.js';
import { createInFlightCalls } from './in-flight-calls.js';
import { createWarningSummary } from './warning-summary.js';
import { createSharedState } from './shared-state.js';

export interface RunningServer {
  /** The port REST actually listens on (useful when the config asked for 0). */
  restPort: number;
  /** The port gRPC listens on, or null when gRPC is off. */
  grpcPort: number | null;
  /** The model every flow uses. */
  modelName: string;
  flows: readonly AnyFlow[];
  /**
   * Graceful shutdown (server/graceful-shutdown.ts): readiness fails, calls
   * are still served for the drain window, then listeners close, in-flight
   * requests, SSE streams and RPCs finish within the grace period, and what
   * outlives it ends with UNAVAILABLE. Defaults: the config's delay and grace.
   */
  close(graceMs?: number, delayMs?: number): Promise<void>;
}

/** Builds the Genkit app from the config and starts REST and gRPC; resolves with the bound ports. */
export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  const { ai, modelName, modelReason, policies } = await loadGenkit(config.model, config.resilience);
  // Interpreted JSON-schema checks until the process is hot: no ajv compile on the first calls.
  // ajv's compile-time notes on Genkit's own schemas become debug lines instead of raw stderr.
  startInterpreted(ai, (line) => logger.debug({ source: 'ajv' }, line));
  // Rate limiter, response cache and resumable streams: on Redis when configured, else in this process.
  const shared = await createSharedState(config, logger);
  const { cache, limiter, streams } = shared;
  const flows = defineFlows(ai, { allowHttpImages: config.debug, maxDataUrlBytes: config.maxBodySize, cache });
  logger.info({ model: modelName, reason: modelReason }, `Model in use: ${modelName} (${modelReason})`);
  policies.onStateChange((state) =>
    (state === 'CLOSED' ? logger.info.bind(logger) : logger.warn.bind(logger))({ circuit: state }, `Model circuit breaker is now ${state}`),
  );
  warnAboutOpenSettings(config, logger);

  const eventLoop = startEventLoopMonitor();
  let draining = false;
  const isDraining = () => draining;
  const contextProvider = createFlowContextProvider({ apiKeys: config.apiKeys });
  const calls = createInFlightCalls(config.maxConcurrentStreams);
  const warnings = createWarningSummary(logger);
  const pacer = createAdmissionPacer(ADMISSIONS_PER_TURN);

  const app = createRestApp({
    flows,
    contextProvider,
    limiter,
    pacer,
    logger,
    maxBodySize: config.maxBodySize,
    corsAllowedOrigins: config.corsAllowedOrigins,
    trustedHosts: config.trustedHosts,
    trustProxy: config.trustProxy,
    debug: config.debug,
    isDraining,
    calls,
    apiDocs: config.apiDocs ? { openApiFile: OPENAPI_FILE, requireBearer: config.apiKeys.length > 0 } : null,
    apiKeysConfigured: config.apiKeys.length > 0,
    health: () => ({ model: modelName, offline: config.model.kind === 'offline', flows: flows.length, circuit: policies.breakerState(), eventLoop: eventLoop.stats(), ...shared.health() }),
    streams,
  });
  const http = createServer(httpServerOptions(config.http), withStreamAdmission(app, calls, warnings));
  const connections = manageHttpConnections(http, config.http, warnings);
  await listen(http, config.port, config.host).catch((e: unknown) => {
    throw new Error(`REST cannot listen on ${config.host}:${config.port} (PORT or --port): ${bindProblem(e)}`);
  });
  const restPort = (http.address() as AddressInfo).port;
  logger.info({ port: restPort, host: config.host, flows: flows.map((f) => f.__action.name) }, `REST listening on http://${config.host}:${restPort}`);

  let grpc: RunningGrpcServer | null = null;
  if (config.grpcPort !== null) {
    // Reflection (and the protobuf runtime it decodes descriptors with) only when it is on.
    const reflection = config.grpcReflection ? await import('../grpc/reflection.js') : null;
    // The gRPC stack (grpc-js, the generated stubs, grpc-health-check with protobufjs) loads only when
    // gRPC is served: a REST-only process (GRPC_ENABLED=false, e.g. the REST service on Cloud Run) skips it.
    const { startGrpcServer } = await import('../grpc/server.js');
    grpc = await startGrpcServer({
      flows,
      host: config.host,
      port: config.grpcPort,
      maxMessageBytes: config.maxBodySize,
      reflection: config.grpcReflection,
      contextProvider,
      limiter,
      pacer,
      logger,
      // Calls keep being served while draining; GOAWAY (tryShutdown) is what turns new ones away.
      isDraining: () => false,
      limits: config.grpcLimits,
      calls,
      warnings,
      streams,
      addReflection: reflection ? (server) => reflection.addReflection(server, readFileSync(DESCRIPTOR_SET)) : undefined,
    }).catch(async (e: unknown) => {
      http.close();
      throw new Error(`gRPC cannot listen on ${config.host}:${config.grpcPort} (GRPC_PORT or --grpc-port): ${bindProblem(e)}`);
    });
    logger.info({ port: grpc.port, reflection: config.grpcReflection }, `gRPC listening on ${config.host}:${grpc.port}`);
  }

  return {
    restPort,
    grpcPort: grpc?.port ?? null,
    modelName,
    flows,
    close: async (graceMs = config.shutdownGraceMs, delayMs = config.shutdownDelayMs) => {
      await Promise.all([
        drainAndClose({
          delayMs,
          graceMs,
          http: connections,
          grpc,
          calls,
          logger,
          failReadiness: () => {
            draining = true;
            grpc?.failReadiness();
          },
        }),
        // Resumable streams whose clients are gone: same deadline as the calls.
        shared.drain(delayMs + graceMs),
      ]);
      warnings.stop();
      await shared.close();
      eventLoop.stop();
      // In dev mode (genkit start) this stops the reflection server and removes its runtime file.
      await ai.stopServers();
    },
  };
}

/** Secure by default: an open setting outside debug is allowed, but said out loud at start-up. */
function warnAboutOpenSettings(config: ServerConfig, logger: Logger): void {
  if (config.debug) {
    logger.info({ debug: DEBUG_TURNS_ON }, `DEBUG is on (never in production): ${DEBUG_TURNS_ON.join('; ')}`);
    return;
  }
  if (config.apiKeys.length === 0) logger.warn('API_KEYS is not set: every flow can be called without authentication');
  if (config.trustedHosts.length === 0) logger.warn('TRUSTED_HOSTS is not set: requests for any Host header are accepted');
}

/**
 * Why a port could not be bound, in words: grpc-js reports a taken port as
 * "No address added out of total 1 resolved errors: [listen EADDRINUSE …]",
 * which names neither the setting nor the cause plainly.
 */
function bindProblem(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as NodeJS.ErrnoException)?.code ?? /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL)\b/.exec(message)?.[1];
  if (code === 'EADDRINUSE') return 'the port is already in use (another process listens there)';
  if (code === 'EACCES') return 'permission denied (ports below 1024 need privileges)';
  if (code === 'EADDRNOTAVAIL') return 'the host address is not an interface of this machine';
  return message;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
