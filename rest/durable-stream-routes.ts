import type { Request, RequestHandler, Response } from 'express';
import type { StreamManager } from 'genkit/beta';
import type { AnyFlow } from '../flows/index.js';
import type { DurableStreams } from '../server/streams/durable-streams.js';
import { genkitError, sendError } from './errors.js';

/** The header of Genkit's flow protocol that names a stream (sent back on every streaming response). */
export const STREAM_ID_HEADER = 'x-genkit-stream-id';

/** expressHandler's own test for a streaming call. */
export function isStreamingRequest(req: Request): boolean {
  return req.query.stream === 'true' || (req.get('Accept')?.toLowerCase().includes('text/event-stream') ?? false);
}

/**
 * The StreamManager expressHandler gets for one request: opening registers
 * the call's controller (for cancels) and sends the headers; a resume stops
 * following the stream once its client has gone.
 */
export function durableStreamManager(streams: DurableStreams, flow: AnyFlow, res: Response, controller: AbortController): StreamManager {
  const manager = streams.forCall(flow.__action.name, controller);
  return {
    open: async (id) => {
      const input = await manager.open(id);
      // expressHandler has written the 200 and the stream id: send them now, so a client learns
      // its stream id even when the model is slow to produce the first chunk.
      res.flushHeaders();
      return input;
    },
    subscribe: async (id, subscriber) => {
      const subscription = await manager.subscribe(id, subscriber);
      res.once('close', subscription.unsubscribe);
      return subscription;
    },
  };
}

/**
 * `DELETE /<flow>` with `x-genkit-stream-id`: the explicit cancel of a
 * durable stream (a disconnect no longer cancels). 204 when the flow was told
 * to stop (it ends with CANCELLED, which a resume then receives) or had already
 * finished; 404 when the id is unknown or expired.
 */
export function cancelStream(streams: DurableStreams, flow: AnyFlow): RequestHandler {
  return (req, res, next) => {
    const id = req.get(STREAM_ID_HEADER);
    if (!id) {
      sendError(res, genkitError('INVALID_ARGUMENT', `DELETE /${flow.__action.name} cancels a stream: send its ${STREAM_ID_HEADER} header.`));
      return;
    }
    streams.cancel(flow.__action.name, id).then((outcome) => {
      if (outcome === 'not-found') sendError(res, genkitError('NOT_FOUND', `No stream ${id} of ${flow.__action.name} (unknown or expired).`));
      else res.status(204).end();
    }, next);
  };
}
