import { randomUUID } from 'node:crypto';
import type { ActionContext } from 'genkit';
import type { ContextProvider, RequestData } from 'genkit/context';

/**
 * The one Genkit context provider both surfaces use: REST hands it the HTTP
 * headers (through `expressHandler`), gRPC hands it the call metadata as
 * lower-case headers. Whatever it returns is the flow's context.
 */

export interface FlowContext extends ActionContext {
  /** The caller's X-Request-ID when it is a sane token, else a fresh UUID. */
  requestId: string;
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function requestIdFrom(headers: Record<string, string>): string {
  const offered = headers['x-request-id'];
  return offered && SANE_REQUEST_ID.test(offered) ? offered : randomUUID();
}

export function createFlowContextProvider(): ContextProvider<FlowContext> {
  return (request: RequestData) => ({ requestId: requestIdFrom(request.headers) });
}
