import express, { type Express } from 'express';
import type { ContextProvider } from 'genkit/context';
import type { AnyFlow } from '../flows/index.js';
import { errorHandler, notFound } from './errors.js';
import { flowRoutes } from './flow-routes.js';

export interface RestAppOptions {
  /** The flows to serve, one route each. */
  flows: readonly AnyFlow[];
  /** Builds each flow call's context from the request (shared with gRPC). */
  contextProvider: ContextProvider;
  /** Largest accepted JSON body in bytes. */
  maxBodySize: number;
  /** Body of GET /health (status "ok" plus what the caller adds). */
  health: () => Record<string, unknown>;
}

/** The express app: health, the flow routes, JSON 404s and a JSON error handler. */
export function createRestApp(options: RestAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', ...options.health() });
  });
  app.use(flowRoutes(options.flows, { maxBodySize: options.maxBodySize, contextProvider: options.contextProvider }));
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
