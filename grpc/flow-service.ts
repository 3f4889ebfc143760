import {
  Metadata,
  type MethodDefinition,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { GenkitError } from 'genkit';
import type { ContextProvider } from 'genkit/context';
import type { Logger } from 'pino';
import type { AnyFlow } from '../flows/index.js';
import { admitFlowInput } from '../flows/admit-input.js';
import type { FlowContext } from '../server/flow-context.js';
import { abortReasons, normalizeError } from '../server/normalize-error.js';
import { GRPC_STATUS } from '../server/status-codes.js';
import type { DurableStreams } from '../server/streams/durable-streams.js';
import { DurableRpc } from './durable-stream.js';
import type { MessageConverter } from './message-converter.js';
import type { RpcModel, ServiceModel } from './service-model.js';

/**
 * The generic gRPC adapter: walks the service model (derived from the flow
 * list) and the generated service definition, and registers one handler per
 * RPC. A handler decodes → flow input → runs the same flow REST runs →
 * encodes. Adding a flow needs no edit here.
 */

export interface FlowServiceOptions {
  flows: readonly AnyFlow[];
  service: ServiceModel;
  /** ts-proto's generated grpc-js service definition. */
  definition: ServiceDefinition;
  converter: MessageConverter;
  contextProvider: ContextProvider;
  logger: Logger;
  /** Resumable streams (x-genkit-stream-id metadata); null: a stream ends with its call. */
  streams?: DurableStreams | null;
}

/** Marks a request whose bytes could not be decoded, so the handler can answer INVALID_ARGUMENT. */
const UNDECODABLE = Symbol('undecodable');
type Decoded = Record<string, unknown> & { [UNDECODABLE]?: true };

export function flowService(options: FlowServiceOptions): { definition: ServiceDefinition; implementation: UntypedServiceImplementation } {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  const implementation: UntypedServiceImplementation = {};
  for (const rpc of options.service.rpcs) {
    const method = options.definition[rpc.methodName];
    const flow = options.flows.find((f) => f.__action.name === rpc.flowName);
    if (!method || !flow) {
      options.logger.warn({ rpc: rpc.rpcName }, `No generated gRPC method for ${rpc.rpcName}: run \`npm run gen\` after changing flows`);
      continue;
    }
    definition[rpc.methodName] = tolerantDecoding(method);
    implementation[rpc.methodName] = rpc.serverStreaming
      ? (call: ServerWritableStream<Decoded, unknown>) => void serveStream(call, rpc, flow, options)
      : (call: ServerUnaryCall<Decoded, unknown>, callback: sendUnaryData<unknown>) => void serveUnary(call, callback, rpc, flow, options);
  }
  return { definition, implementation };
}

async function serveUnary(
  call: ServerUnaryCall<Decoded, unknown>,
  callback: sendUnaryData<unknown>,
  rpc: RpcModel,
  flow: AnyFlow,
  options: FlowServiceOptions,
): Promise<void> {
  const { signal, dispose } = callSignal(call);
  try {
    const { input, context } = await prepare(call.request, call.metadata, rpc, flow, options);
    const { result } = await flow.run(input, { context, abortSignal: signal });
    callback(null, options.converter.fromFlowJson(rpc.responseMessage, result), responseTrailers(context));
  } catch (e: unknown) {
    callback(toServiceError(e, signal, rpc, options.logger));
  } finally {
    dispose();
  }
}

async function serveStream(call: ServerWritableStream<Decoded, unknown>, rpc: RpcModel, flow: AnyFlow, options: FlowServiceOptions): Promise<void> {
  const { signal, dispose } = callSignal(call);
  const durable = options.streams ? new DurableRpc(call, options.streams, flow.__action.name, signal) : null;
  const flowSignal = durable?.signal ?? signal;
  const encode = (message: object) => options.converter.fromFlowJson(rpc.responseMessage, message);
  let stream: Awaited<ReturnType<DurableRpc['open']>> | null = null;
  try {
    const { input, context } = await prepare(call.request, call.metadata, rpc, flow, options);
    if (durable?.resumeId) return await durable.resume(encode);
    stream = durable ? await durable.open() : null;
    const { result } = await flow.run(input, {
      context,
      abortSignal: flowSignal,
      onChunk: (chunk: unknown) => {
        stream?.write(chunk);
        if (!signal.aborted) call.write(encode({ chunk }));
      },
    });
    await stream?.done(result);
    if (call.cancelled) return;
    call.write(encode({ result }));
    call.end();
  } catch (e: unknown) {
    await stream?.error(normalizeError(e, flowSignal));
    // grpc-js sends an 'error' emitted on a server stream as the call's status.
    if (!call.cancelled) call.emit('error', toServiceError(e, flowSignal, rpc, options.logger));
  } finally {
    dispose();
  }
}

/** What the flow reported for this call (the cache outcome), as trailing metadata. */
function responseTrailers(context: unknown): Metadata {
  const trailers = new Metadata();
  const cache = (context as Partial<FlowContext> | undefined)?.response?.cache;
  if (cache) trailers.set('x-cache', cache);
  return trailers;
}

/** Request → validated flow input (defaults applied) and the flow context, before the flow starts. */
async function prepare(request: Decoded, metadata: Metadata, rpc: RpcModel, flow: AnyFlow, options: FlowServiceOptions) {
  if (request[UNDECODABLE]) {
    throw new GenkitError({ status: 'INVALID_ARGUMENT', message: `The request is not a valid ${rpc.requestMessage} message.` });
  }
  const json = options.converter.toFlowJson(rpc.requestMessage, request);
  const schema = flow.__action.inputSchema;
  const input: unknown = schema ? admitFlowInput(schema, json) : json;
  const context = await options.contextProvider({ method: 'POST', headers: metadataHeaders(metadata), input });
  return { input, context };
}

/** Metadata as lower-case HTTP-style headers (binary `-bin` entries left out), for the shared context provider. */
export function metadataHeaders(metadata: Metadata): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (typeof value === 'string') headers[key.toLowerCase()] = value;
  }
  return headers;
}

/**
 * One AbortSignal for the call: it fires when the client cancels or its
 * deadline expires, with a reason saying which, and reaches the flow and the
 * model call through `abortSignal`.
 */
function callSignal(call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>) {
  const controller = new AbortController();
  const deadline = deadlineMs(call.getDeadline());
  const timer = Number.isFinite(deadline)
    ? setTimeout(() => controller.abort(abortReasons.deadline()), Math.max(0, deadline - Date.now()))
    : undefined;
  const onCancelled = () => controller.abort(Date.now() >= deadline ? abortReasons.deadline() : abortReasons.cancelled());
  call.on('cancelled', onCancelled);
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      call.off('cancelled', onCancelled);
    },
  };
}

function deadlineMs(deadline: Date | number): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

function toServiceError(error: unknown, signal: AbortSignal, rpc: RpcModel, logger: Logger): Partial<ServiceError> {
  const normalized = normalizeError(error, signal);
  if (normalized.status === 'INTERNAL') logger.error({ err: error, rpc: rpc.rpcName }, 'RPC failed');
  const metadata = new Metadata();
  const retryAfter = (normalized.detail as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
  if (retryAfter !== undefined) metadata.set('retry-after', String(retryAfter));
  return { code: GRPC_STATUS[normalized.status], details: normalized.originalMessage, metadata };
}

/** Wraps the generated deserializer so undecodable bytes reach the handler as a marker, not an INTERNAL error. */
function tolerantDecoding(method: MethodDefinition<unknown, unknown>): MethodDefinition<unknown, unknown> {
  return {
    ...method,
    requestDeserialize: (bytes: Buffer) => {
      try {
        return method.requestDeserialize(bytes);
      } catch {
        return { [UNDECODABLE]: true };
      }
    },
  };
}
