import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';

/**
 * A bare HTTP/2 gRPC client (node:http2, no grpc-js): it sends exactly the
 * headers we choose (e.g. `grpc-timeout: 1m`) and enforces nothing itself,
 * so it sees what the server really writes — messages, trailers, and
 * whether the stream ever ends.
 */

export interface RawResponse {
  headers: IncomingHttpHeaders;
  /** Length-prefixed messages, payload bytes only. */
  messages: Buffer[];
  /** Trailers (or the headers of a trailers-only response). */
  trailers: IncomingHttpHeaders;
  /** grpc-status as a number (NaN when absent). */
  status: number;
  /** Milliseconds from request to the end of the stream. */
  elapsedMs: number;
  /** True when the stream ended (END_STREAM) before `timeoutMs`. */
  ended: boolean;
  /** Bytes that arrived after the trailers (must be none). */
  afterTrailers: number;
}

export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

export function rawSession(port: number): ClientHttp2Session {
  return connect(`http://127.0.0.1:${port}`);
}

export function rawCall(
  session: ClientHttp2Session,
  path: string,
  payload: Uint8Array,
  extraHeaders: Record<string, string> = {},
  timeoutMs = 3000,
): Promise<RawResponse> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: path,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
      ...extraHeaders,
    });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    let afterTrailers = 0;
    let buffered = Buffer.alloc(0);
    const messages: Buffer[] = [];
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      const t = trailers ?? (headers['grpc-status'] !== undefined ? headers : {});
      resolve({
        headers,
        messages,
        trailers: t,
        status: Number(t['grpc-status']),
        elapsedMs: performance.now() - started,
        ended,
        afterTrailers,
      });
    };
    const timer = setTimeout(() => {
      stream.close(constants.NGHTTP2_CANCEL);
      finish(false);
    }, timeoutMs);
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (chunk: Buffer) => {
      if (trailers) afterTrailers += chunk.length;
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
        const length = buffered.readUInt32BE(1);
        messages.push(buffered.subarray(5, 5 + length));
        buffered = buffered.subarray(5 + length);
      }
    });
    stream.on('end', () => finish(true));
    stream.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    stream.end(frame(payload));
  });
}
