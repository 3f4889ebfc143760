import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { defineFlows, type AnyFlow } from '../flows/index.js';
import { createGenkit } from '../genkit.config.js';
import { createRestApp } from '../rest/app.js';
import type { ServerConfig } from './config.js';

export interface RunningServer {
  /** The port REST actually listens on (useful when the config asked for 0). */
  restPort: number;
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

  const app = createRestApp({
    flows,
    maxBodySize: config.maxBodySize,
    health: () => ({ model: modelName, offline: config.model.kind === 'offline', flows: flows.length }),
  });
  const http = createServer(app);
  await listen(http, config.port, config.host);
  const restPort = (http.address() as AddressInfo).port;
  logger.info({ port: restPort, host: config.host, flows: flows.map((f) => f.__action.name) }, `REST listening on http://${config.host}:${restPort}`);

  return {
    restPort,
    modelName,
    flows,
    close: () => closeHttp(http),
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
