import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { defineFlows, type AnyFlow } from '../flows/index.js';
import { createGenkit } from '../genkit.config.js';
import { startGrpcServer, type RunningGrpcServer } from '../grpc/server.js';
import { createRestApp } from '../rest/app.js';
import type { ServerConfig } from './config.js';
import { createFlowContextProvider } from './flow-context.js';

export interface RunningServer {
  /** The port REST actually listens on (useful when the config asked for 0). */
  restPort: number;
  /** The port gRPC listens on, or null when gRPC is off. */
  grpcPort: number | null;
  /** The model every flow uses. */
  modelName: string;
  flows: readonly AnyFlow[];
  /** Stops accepting connections and resolves once every connection is closed. */
  close(): Promise<void>;
}

/** Builds the Genkit app from the config and starts the REST surface; resolves with the bound port. */
export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  const { ai, modelName, modelReason } = createGenkit(config.model);
  const flows = defineFlows(ai);
  logger.info({ model: modelName, reason: modelReason }, `Model in use: ${modelName} (${modelReason})`);

  const contextProvider = createFlowContextProvider();
  const app = createRestApp({
    flows,
    contextProvider,
    maxBodySize: config.maxBodySize,
    health: () => ({ model: modelName, offline: config.model.kind === 'offline', flows: flows.length }),
  });
  const http = createServer(app);
  await listen(http, config.port, config.host);
  const restPort = (http.address() as AddressInfo).port;
  logger.info({ port: restPort, host: config.host, flows: flows.map((f) => f.__action.name) }, `REST listening on http://${config.host}:${restPort}`);

  let grpc: RunningGrpcServer | null = null;
  if (config.grpcPort !== null) {
    grpc = await startGrpcServer({
      flows,
      host: config.host,
      port: config.grpcPort,
      maxMessageBytes: config.maxBodySize,
      reflection: config.grpcReflection,
      contextProvider,
      logger,
    });
    logger.info({ port: grpc.port, reflection: config.grpcReflection }, `gRPC listening on ${config.host}:${grpc.port}`);
  }

  return {
    restPort,
    grpcPort: grpc?.port ?? null,
    modelName,
    flows,
    close: async () => {
      await Promise.all([closeHttp(http), grpc?.close()]);
    },
  };
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

function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeIdleConnections();
  });
}
