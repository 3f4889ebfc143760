import { expressHandler } from './genkit-express.js';
import express, { type RequestHandler, type Response, type Router } from 'express';
import { GenkitError } from 'genkit';
import type { ContextProvider } from 'genkit/context';
import { parseFlowInput } from '../flows/validated-flow.js';
import type { AnyFlow } from '../flows/index.js';
import { abortReasons } from '../server/normalize-error.js';
import { genkitError, sendError } from './errors.js';

/**
 * The REST adapter: one `POST /<flowName>` per flow, served by Genkit's own
 * `expressHandler` (the flow-server protocol, streaming included). In front
 * of it we only parse the JSON body and check the input, so that a bad
 * request gets a 400 naming the field before any response (or stream) starts.
 */
export function flowRoutes(flows: readonly AnyFlow[], options: { maxBodySize: number; contextProvider: ContextProvider }): Router {
  const router = express.Router();
  const json = express.json({ limit: options.maxBodySize, strict: false });
  for (const flow of flows) {
    router.post(`/${flow.__action.name}`, json, checkFlowInput(flow), (req, res, next) => {
      const handler = expressHandler(abortingOnDisconnect(flow, res), { contextProvider: options.contextProvider });
      return handler(req, res, next);
    });
  }
  return router;
}

/**
 * expressHandler aborts the flow on the request's 'close' event, but once a
 * body parser has read the body, Node has already emitted it, so a client
 * that disconnects mid-call would not stop the flow or its model call. We
 * watch the response instead: closed before it finished means the client is
 * gone, and that aborts the signal handed to `flow.run`.
 */
function abortingOnDisconnect(flow: AnyFlow, res: Response): AnyFlow {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(abortReasons.cancelled());
  });
  const run: AnyFlow['run'] = (input, opts) =>
    flow.run(input, { ...opts, abortSignal: opts?.abortSignal ? AbortSignal.any([opts.abortSignal, controller.signal]) : controller.signal });
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
        ),
      );
      return;
    }
    try {
      // Defaults are applied here too, so Genkit's JSON-schema check in flow.run sees a complete input.
      (body as { data?: unknown }).data = schema ? parseFlowInput(schema, (body as { data?: unknown }).data) : undefined;
      next();
    } catch (e: unknown) {
      if (e instanceof GenkitError) sendError(res, e);
      else next(e);
    }
  };
}
