import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { getCallableJSON } from 'genkit/context';
import type { InFlightCalls } from '../server/in-flight-calls.js';
import { STREAM_RETRY_AFTER_SECONDS, streamLimitError } from '../server/stream-admission.js';
import type { WarningSummary } from '../server/warning-summary.js';

/**
 * MAX_CONCURRENT_STREAMS at the door of the REST server: a streaming request
 * (`?stream=true` or `Accept: text/event-stream`, Genkit's rule) over the cap
 * gets 503 + Retry-After before express, its middleware and the body parser
 * run, and is counted in a summary line instead of an access line each. When
 * 2000 streams arrive at once they are all read in one turn of the event
 * loop; what each one costs before it is refused decides how long /health waits.
 * An admitted stream holds its slot until its response closes.
 */
export function withStreamAdmission(app: RequestListener, calls: InFlightCalls, warnings: WarningSummary): RequestListener {
  const body = JSON.stringify(getCallableJSON(streamLimitError()));
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || !isStreamRequest(req)) return app(req, res);
    const release = calls.admitStream();
    if (release) {
      // 'close' comes once per response, and release is idempotent: a plain listener, no once-wrapper
      // (a bound function and its state object, kept for the life of the stream).
      res.on('close', release);
      return app(req, res);
    }
    warnings.note('rest-stream-shed', 'Streaming request shed with 503: MAX_CONCURRENT_STREAMS reached', { path: req.url?.split('?')[0] });
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': String(STREAM_RETRY_AFTER_SECONDS), 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
}

/** Genkit's expressHandler streams on `stream=true` in the query or an SSE Accept header. */
function isStreamRequest(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  if (query >= 0 && new URLSearchParams(url.slice(query + 1)).get('stream') === 'true') return true;
  return req.headers.accept?.toLowerCase().includes('text/event-stream') ?? false;
}
