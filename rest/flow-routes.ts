import { expressHandler } from './genkit-express.js';
import express, { type IRouter, type RequestHandler, type Response } from 'express';
import { GenkitError } from 'genkit';
import type { ContextProvider } from 'genkit/context';
import { admitFlowInput, MAX_INPUT_DEPTH } from '../flows/admit-input.js';
import type { AnyFlow } from '../flows/index.js';
import type { FlowContext } from '../server/flow-context.js';
import { withErrorDetails } from '../server/error-details.js';
import type { InFlightCalls } from '../server/in-flight-calls.js';
import { abortReasons, normalizeError } from '../server/normalize-error.js';
import type { DurableStreams } from '../server/streams/durable-streams.js';
import { cancelStream, durableStreamManager, isStreamingRequest } from './durable-stream-routes.js';
import { genkitError, sendError } from './errors.js';
import { flattenHeaderBlock } from './header-block.js';
import { rejectDeepJson } from './json-depth.js';
import { FLOW_CONTEXT } from './middleware/authenticate.js';
import { inSpanContext, spanRoute } from './middleware/server-span.js';

/**
 * The REST adapter: one `POST /<flowName>` per flow, served by Genkit's own
 * `expressHandler` (the flow-server protocol, streaming included). In front
 * of it we only parse the JSON body and check the input, so that a bad
 * request gets a 400 naming the field before any response (or stream) starts.
 */
export interface FlowRouteOptions {
  maxBodySize: number;
  contextProvider: ContextProvider;
  /** Registry of calls in progress (shutdown ends the ones left). */
  calls: InFlightCalls;
  /** Resumable streams (x-genkit-stream-id); null: streams end with their connection. */
  streams?: DurableStreams | null;
}

/**
 * Registered on the app itself (or any router): a mounted Router would cost
 * every request a second routing pass, and an open stream would keep that
 * pass's closures (its `next`, the saved `baseUrl`/`params` state) until it ends.
 */
export function addFlowRoutes(router: IRouter, flows: readonly AnyFlow[], options: FlowRouteOptions): void {
  // The {"data": …} envelope is one level more than the input may nest. The parser continues from
  // the socket's 'end' event: inSpanContext puts the span context back for what follows.
  const json = inSpanContext(express.json({ limit: options.maxBodySize, strict: false, verify: rejectDeepJson(MAX_INPUT_DEPTH + 1) }));
  for (const flow of flows) {
    const route = `/${flow.__action.name}`;
    router.post(route, spanRoute(route), json, checkFlowInput(flow), (req, res, next) => {
      // `authenticate` already ran the context provider for this request: hand its result over
      // instead of running it a second time (falls back to the provider if it did not run).
      const computed = res.locals[FLOW_CONTEXT] as FlowContext | undefined;
      const contextProvider: ContextProvider = computed ? () => computed : options.contextProvider;
      // Streaming calls are durable (resumable with x-genkit-stream-id): their flow outlives the connection.
      const durable = options.streams && isStreamingRequest(req) ? new AbortController() : null;
      const streamManager = durable && options.streams ? durableStreamManager(options.streams, flow, res, durable) : undefined;
      const handler = expressHandler(servedFlow(flow, res, options.calls, durable), { contextProvider, streamManager });
      return handler(req, res, next);
    });
    if (options.streams) router.delete(route, spanRoute(route), cancelStream(options.streams, flow));
  }
}

/**
 * The flow as expressHandler sees it, for one request:
 * - expressHandler aborts the flow on the request's 'close' event, but once a
 *   body parser has read the body Node has already emitted it, so a client
 *   that disconnects mid-call would not stop the flow or its model call. We
 *   watch the response instead: closed before it finished means the client
 *   is gone, and that aborts the signal handed to `flow.run`.
 * - Response headers only this layer can set: X-Cache from the flow's
 *   report, Retry-After when the model circuit is open.
 * - A durable stream (`durable` is its controller) is the exception: neither
 *   the client leaving nor expressHandler's signal stops it, only a cancel.
 */
function servedFlow(flow: AnyFlow, res: Response, calls: InFlightCalls, durable: AbortController | null = null): AnyFlow {
  const controller = durable ?? new AbortController();
  if (!durable) {
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(abortReasons.cancelled());
    });
  }
  const run: AnyFlow['run'] = async (input, opts) => {
    // A stream's headers are already stored here: let their build-up go (it lives as long as the stream).
    flattenHeaderBlock(res);
    // expressHandler's own signal (request 'close'/'timeout') aborts ours too; linked by hand because
    // AbortSignal.any costs noticeably more per request on Node 20.
    const outer = durable ? undefined : opts?.abortSignal;
    const forward = () => controller.abort(outer?.reason);
    if (outer?.aborted) forward();
    else outer?.addEventListener('abort', forward, { once: true });
    // Tracked while the flow runs: at the end of the shutdown grace period it is aborted with UNAVAILABLE.
    const untrack = calls.track(controller);
    try {
      const result = await flow.run(input, { ...opts, abortSignal: controller.signal });
      const cache = (opts?.context as Partial<FlowContext> | undefined)?.response?.cache;
      if (cache && !res.headersSent) res.setHeader('X-Cache', cache);
      return result;
    } catch (e: unknown) {
      // Aborted (shutdown, client gone): the signal's reason says why, e.g. UNAVAILABLE at the end of the grace period.
      const error = controller.signal.aborted ? normalizeError(e, controller.signal) : e;
      const retryAfter = (error as { detail?: { retryAfterSeconds?: number } }).detail?.retryAfterSeconds;
      if (retryAfter !== undefined && !res.headersSent) res.setHeader('Retry-After', String(retryAfter));
      // expressHandler writes Genkit's error body from the error: give it the AIP-193 details.
      throw error instanceof GenkitError ? withErrorDetails(error) : error;
    } finally {
      // expressHandler aborts its signal when the request closes, also after a call that already
      // finished; unlinked here, that no longer reaches the finished flow's abort listeners.
      outer?.removeEventListener('abort', forward);
      untrack();
    }
  };
  return Object.create(flow, { run: { value: run } }) as AnyFlow;
}

function checkFlowInput(flow: AnyFlow): RequestHandler {
  const schema = flow.__action.inputSchema;
  return (req, res, next) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      sendError(
        res,
        genkitError(
          'INVALID_ARGUMENT',
          'The request body must be a JSON object {"data": <flow input>} sent with Content-Type: application/json.',
          { reason: 'MALFORMED_REQUEST' },
        ),
      );
      return;
    }
    if ('init' in body) {
      // expressHandler hands `init` to flow.run unchecked (and Genkit's tracing serializes it); no flow here uses it.
      sendError(res, genkitError('INVALID_ARGUMENT', 'The request body field "init" is not supported: send {"data": <flow input>}.', { reason: 'MALFORMED_REQUEST' }));
      return;
    }
    try {
      // Defaults are applied here too, so Genkit's JSON-schema check in flow.run sees a complete input.
      (body as { data?: unknown }).data = schema ? admitFlowInput(schema, (body as { data?: unknown }).data) : undefined;
      next();
    } catch (e: unknown) {
      if (e instanceof GenkitError) sendError(res, e);
      else next(e);
    }
  };
}
