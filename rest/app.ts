import express, { type Express } from 'express';
import type { ContextProvider } from 'genkit/context';
import type { Logger } from 'pino';
import type { AnyFlow } from '../flows/index.js';
import type { AdmissionPacer } from '../server/admission-pacer.js';
import type { SharedRateLimiter } from '../server/rate-limiter.js';
import type { InFlightCalls } from '../server/in-flight-calls.js';
import type { DurableStreams } from '../server/streams/durable-streams.js';
import { apiDocs, type ApiDocsOptions } from './api-docs.js';
import { errorHandler, notFound } from './errors.js';
import { addFlowRoutes } from './flow-routes.js';
import { accessLog } from './middleware/access-log.js';
import { authenticate } from './middleware/authenticate.js';
import { bodyReadErrors } from './middleware/body-read-errors.js';
import { bodySizeLimit } from './middleware/body-size.js';
import { clientIp } from './middleware/client-ip.js';
import { corsPolicy } from './middleware/cors-policy.js';
import { pace } from './middleware/pace.js';
import { healthDetailAllowed, requireApiKey } from './middleware/operator-access.js';
import { rateLimit } from './middleware/rate-limit.js';
import { requestId } from './middleware/request-id.js';
import { securityHeaders } from './middleware/security-headers.js';
import { serverSpan } from './middleware/server-span.js';
import { trustedHosts } from './middleware/trusted-hosts.js';

export interface RestAppOptions {
  /** The flows to serve, one route each. */
  flows: readonly AnyFlow[];
  /** Builds each flow call's context from the request, and authenticates it (shared with gRPC). */
  contextProvider: ContextProvider;
  /** The per-client-IP limiter shared with gRPC. */
  limiter: SharedRateLimiter;
  logger: Logger;
  /** Largest accepted JSON body in bytes. */
  maxBodySize: number;
  corsAllowedOrigins: string[];
  trustedHosts: string[];
  /** Express 'trust proxy': decides req.ip and req.secure behind load balancers. */
  trustProxy: boolean | number | string[];
  debug: boolean;
  /** Body of GET /health (status "ok" plus what the caller adds). */
  health: () => Record<string, unknown>;
  /** True once shutdown has begun: /health answers 503 (calls are still served, see server/graceful-shutdown.ts). */
  isDraining: () => boolean;
  /** Calls in progress on both surfaces (shutdown ends the ones left). */
  calls: InFlightCalls;
  /** Serve /openapi.json and /docs (debug or API_DOCS=true). */
  apiDocs: ApiDocsOptions | null;
  /** Resumable streams (x-genkit-stream-id); null: streams end with their connection. */
  streams?: DurableStreams | null;
  /** Spreads bursts of new calls over event-loop turns (shared with gRPC); none: no pacing. */
  pacer?: AdmissionPacer;
  /** API_KEYS is set: /openapi.json, /docs and the /health detail need a key too. */
  apiKeysConfigured?: boolean;
}

/**
 * The REST surface, in the design's order: request ID → server span → access log → security
 * headers → CORS → trusted host → body size → rate limit → auth → flow
 * handler. /health sits before the host check, the limiter and auth, so
 * probes that address the pod by IP keep working.
 */
export function createRestApp(options: RestAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', options.trustProxy);

  app.use(clientIp);
  app.use(requestId);
  app.use(serverSpan);
  app.use(accessLog(options.logger));
  app.use(securityHeaders);
  app.use(corsPolicy({ allowedOrigins: options.corsAllowedOrigins, debug: options.debug }));
  const detailAllowed = healthDetailAllowed(options.contextProvider, options.limiter, options.apiKeysConfigured ?? false);
  app.get('/health', (req, res) => {
    void detailAllowed(req)
      .catch(() => false)
      .then((detail) => {
        const status = options.isDraining() ? 'shutting_down' : 'ok';
        res.status(status === 'ok' ? 200 : 503).json(detail ? { status, ...options.health() } : { status });
      });
  });
  if (options.pacer) app.use(pace(options.pacer));
  app.use(trustedHosts(options.trustedHosts));
  app.use(bodySizeLimit(options.maxBodySize));
  app.use(rateLimit(options.limiter));
  if (options.apiDocs) app.use(['/openapi.json', '/docs'], requireApiKey(options.contextProvider));
  if (options.apiDocs) app.use(apiDocs(options.apiDocs));
  app.use(authenticate(options.contextProvider));
  addFlowRoutes(app, options.flows, {
    maxBodySize: options.maxBodySize,
    contextProvider: options.contextProvider,
    calls: options.calls,
    streams: options.streams,
  });
  app.use(notFound);
  app.use(bodyReadErrors);
  app.use(errorHandler);
  return app;
}
