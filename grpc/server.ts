import type { AdmissionPacer } from '../server/admission-pacer.js';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ContextProvider } from 'genkit/context';
import { readFileSync } from 'node:fs';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { AnyFlow } from '../flows/index.js';
import type { SharedRateLimiter } from '../server/rate-limiter.js';
import type { DurableStreams } from '../server/streams/durable-streams.js';
import * as generatedMessages from '../generated/ts/genkit/flows/v1/flows.js';
import { FlowServiceService } from '../generated/ts/genkit/flows/v1/flows.js';
import { flowService } from './flow-service.js';
import { gatewayInterceptor } from './call-gateway.js';
import { LOCK_FILE } from './generated-paths.js';
import { MessageConverter } from './message-converter.js';
import { parseLock } from './proto-lock.js';
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
}

export interface RunningGrpcServer {
  port: number;
  health: HealthImplementation;
  server: Server;
  /**
   * Marks health NOT_SERVING, stops taking new calls and lets in-flight ones
   * (streams included) finish for up to `graceMs`, then cancels what is left.
   */
  close(graceMs: number): Promise<void>;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    interceptors: [
      gatewayInterceptor({
        logger: options.logger,
        limiter: options.limiter,
        contextProvider: options.contextProvider,
        isDraining: options.isDraining,
        // Reflection describes the whole API: with API_KEYS it needs a key like the flows (and takes a rate-limit token).
        isExempt: (path) => path.startsWith('/grpc.health.v1.Health/'),
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
    streams: options.streams ?? null,
    pacer: options.pacer,
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
  return {
    port,
    health,
    server,
    close: (graceMs) => {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(FULL_SERVICE_NAME, 'NOT_SERVING');
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
