import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A local stand-in for the Gemini REST API (generativelanguage.googleapis.com)
 * on 127.0.0.1, for driving the real @genkit-ai/google-genai plugin through
 * GEMINI_BASE_URL. It speaks `:generateContent` and
 * `:streamGenerateContent?alt=sse`, records what the plugin sent, and replies
 * as each test scripts it, faults included (status codes, hangs, resets).
 */

export interface RecordedRequest {
  /** "generateContent" or "streamGenerateContent". */
  method: string;
  /** Model id from the path, e.g. "gemini-2.5-flash". */
  model: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: GeminiRequestBody;
  /** Resolves when the client's connection for this request closes (aborts included). */
  closed: Promise<void>;
  /** True once the response was fully written. */
  answered: boolean;
}

export interface GeminiRequestBody {
  contents: { role: string; parts: Record<string, unknown>[] }[];
  systemInstruction?: { parts: { text?: string }[] };
  tools?: { functionDeclarations?: { name: string; description?: string; parameters?: unknown }[] }[];
  generationConfig?: Record<string, unknown>;
  [key: string]: unknown;
}

export type Reply =
  /** Text; streamed as one SSE event per element when an array is given. */
  | { text: string | string[] }
  /** A structured answer: the JSON text of `json`. */
  | { json: unknown }
  | { functionCall: { name: string; args: Record<string, unknown> } }
  /** An HTTP error with a Gemini-style error body. */
  | { status: number; message?: string; details?: unknown[]; headers?: Record<string, string> }
  /** Never answers (until the client gives up). */
  | { hang: true }
  /** Destroys the connection without an answer. */
  | { reset: true };

export type Script = (request: RecordedRequest, index: number) => Reply;

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };

export class GeminiWireServer {
  readonly requests: RecordedRequest[] = [];
  private script: Script = () => ({ text: 'fake reply' });
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<GeminiWireServer> {
    const server = createServer();
    const fake = new GeminiWireServer(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void fake.handle(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Sets how the next requests are answered (replaces the previous script). */
  respondWith(script: Script): void {
    this.script = script;
  }

  /** Answers the next requests in order with these replies, then with the last one. */
  respondInOrder(...replies: Reply[]): void {
    let next = 0;
    this.script = () => replies[Math.min(next++, replies.length - 1)]!;
  }

  reset(): void {
    this.requests.length = 0;
    this.script = () => ({ text: 'fake reply' });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const match = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(url.pathname);
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    if (!match) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 404, message: `Unknown path ${url.pathname}`, status: 'NOT_FOUND' } }));
      return;
    }
    const recorded: RecordedRequest = {
      method: match[2]!,
      model: match[1]!,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: JSON.parse(raw) as GeminiRequestBody,
      closed: new Promise<void>((resolve) => res.once('close', () => resolve())),
      answered: false,
    };
    this.requests.push(recorded);
    const reply = this.script(recorded, this.requests.length - 1);
    this.answer(recorded, reply, req, res);
  }

  private answer(recorded: RecordedRequest, reply: Reply, req: IncomingMessage, res: ServerResponse): void {
    if ('hang' in reply) return;
    if ('reset' in reply) {
      req.socket.destroy();
      return;
    }
    if ('status' in reply) {
      const body = {
        error: { code: reply.status, message: reply.message ?? `fault ${reply.status}`, status: STATUS_NAMES[reply.status] ?? 'UNKNOWN', ...(reply.details ? { details: reply.details } : {}) },
      };
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(JSON.stringify(body));
      recorded.answered = true;
      return;
    }
    const parts: Record<string, unknown>[][] =
      'functionCall' in reply
        ? [[{ functionCall: reply.functionCall }]]
        : 'json' in reply
          ? [[{ text: JSON.stringify(reply.json) }]]
          : (Array.isArray(reply.text) ? reply.text : [reply.text]).map((text) => [{ text }]);

    if (recorded.method === 'streamGenerateContent') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      parts.forEach((chunk, i) => res.write(`data: ${JSON.stringify(candidate(chunk, i === parts.length - 1))}\r\n\r\n`));
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(candidate(parts.flat(), true)));
    }
    recorded.answered = true;
  }
}

function candidate(parts: Record<string, unknown>[], last: boolean) {
  return {
    candidates: [{ index: 0, content: { role: 'model', parts }, ...(last ? { finishReason: 'STOP' } : {}) }],
    usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 5, totalTokenCount: 10 },
    modelVersion: 'gemini-2.5-flash',
  };
}
