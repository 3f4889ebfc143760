import {
  Metadata,
  ServerInterceptingCall,
  status as GrpcStatus,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import { GenkitError } from 'genkit';
import type { ContextProvider } from 'genkit/context';
import type { Logger } from 'pino';
import { requestIdFrom } from '../server/flow-context.js';
import type { SharedRateLimiter } from '../server/rate-limiter.js';
import type { WarningSummary } from '../server/warning-summary.js';
import { GRPC_STATUS } from '../server/status-codes.js';
import { metadataHeaders } from './flow-service.js';
import { traceInterceptor } from './trace-interceptor.js';

/**
 * The REST middleware rules, for RPCs: request ID → trace span → access log
 * → rate limit → auth, each sharing its implementation with REST (the request-ID rule,
 * the limiter, the context provider, the status table). grpc-js runs the
 * interceptors in array order, outermost first.
 */

export interface InterceptorOptions {
  logger: Logger;
  limiter: SharedRateLimiter;
  contextProvider: ContextProvider;
  /** Methods that skip the limiter and auth (health checks, reflection). */
  isExempt: (path: string) => boolean;
  /** True once shutdown has begun: new calls get UNAVAILABLE. */
  isDraining: () => boolean;
  /** Summarises repeated RESOURCE_EXHAUSTED lines (a flood must not write one line per refused call). */
  warnings?: WarningSummary;
  /** Told the peer of every RESOURCE_EXHAUSTED call (the rapid-reset guard counts them per connection). */
  onRefused?: (peer: string) => void;
}

export function serverInterceptors(options: InterceptorOptions): ServerInterceptor[] {
  return [requestIdInterceptor, traceInterceptor(options.isExempt), accessLogInterceptor(options), gateInterceptor(options)];
}

/** Settles the request ID from `x-request-id` (same rule as REST), passes it on, echoes it in headers and trailers. */
const requestIdInterceptor: ServerInterceptor = (_method, call) => {
  let id = '';
  return new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: (metadata, nextMetadata) => {
          id = requestIdFrom({ 'x-request-id': firstString(metadata, 'x-request-id') });
          metadata.set('x-request-id', id);
          nextMetadata(metadata);
        },
      }),
    sendMetadata: (metadata, next) => {
      if (id) metadata.set('x-request-id', id);
      next(metadata);
    },
    sendStatus: (status, next) => {
      const trailers = status.metadata ?? new Metadata();
      if (id) trailers.set('x-request-id', id);
      next({ ...status, metadata: trailers });
    },
  });
};

/** One access line per RPC: method, status, duration, request ID, peer (and cache outcome). */
function accessLogInterceptor({ logger, warnings, onRefused }: InterceptorOptions): ServerInterceptor {
  return (method: ServerMethodDefinition<unknown, unknown>, call: ServerInterceptingCallInterface) => {
    const started = performance.now();
    let requestId: string | undefined;
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            requestId = firstString(metadata, 'x-request-id');
            nextMetadata(metadata);
          },
        }),
      sendStatus: (status, next) => {
        const cache = status.metadata?.get('x-cache')[0];
        const line = {
          requestId,
          ...(cache ? { cache: String(cache) } : {}),
          rpc: method.path,
          status: GrpcStatus[status.code] ?? String(status.code),
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          peer: call.getPeer(),
        };
        if (status.code === GrpcStatus.RESOURCE_EXHAUSTED) {
          onRefused?.(line.peer);
          if (warnings) warnings.note(`grpc-refused ${method.path}`, `${method.path} ${line.status}`, line);
          else logger.warn(line, `${method.path} ${line.status}`);
        } else {
          const level = status.code === GrpcStatus.OK ? 'info' : isServerFault(status.code) ? 'error' : 'warn';
          logger[level](line, `${method.path} ${line.status}`);
        }
        next(status);
      },
    });
  };
}

/** Shutdown, rate limit and auth: a refused call never reaches the handler. */
function gateInterceptor(options: InterceptorOptions): ServerInterceptor {
  return (method: ServerMethodDefinition<unknown, unknown>, call: ServerInterceptingCallInterface) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            if (options.isExempt(method.path)) return nextMetadata(metadata);
            if (options.isDraining()) {
              return call.sendStatus({ code: GrpcStatus.UNAVAILABLE, details: 'The server is shutting down; retry on another instance.' });
            }
            admit(options, metadata, call.getConnectionInfo().remoteAddress ?? call.getPeer()).then(
              () => nextMetadata(metadata),
              (error: GenkitError) => {
                const trailers = new Metadata();
                if (error.detail && typeof error.detail === 'object' && 'retryAfterSeconds' in error.detail) {
                  trailers.set('retry-after', String(error.detail.retryAfterSeconds));
                }
                call.sendStatus({ code: GRPC_STATUS[error.status], details: error.originalMessage, metadata: trailers });
              },
            );
          },
        }),
    });
}

async function admit(options: InterceptorOptions, metadata: Metadata, clientIp: string): Promise<void> {
  const decision = await options.limiter.take(clientIp);
  if (!decision.allowed) {
    throw new GenkitError({
      status: 'RESOURCE_EXHAUSTED',
      message: `Rate limit exceeded: retry in ${decision.resetSeconds} s.`,
      detail: { retryAfterSeconds: decision.resetSeconds },
    });
  }
  try {
    await options.contextProvider({ method: 'POST', headers: metadataHeaders(metadata), input: undefined });
  } catch (e: unknown) {
    throw e instanceof GenkitError ? e : new GenkitError({ status: 'INTERNAL', message: 'Internal Error' });
  }
}

function firstString(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}

function isServerFault(code: GrpcStatus): boolean {
  return [GrpcStatus.INTERNAL, GrpcStatus.UNKNOWN, GrpcStatus.DATA_LOSS, GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED].includes(code);
}
