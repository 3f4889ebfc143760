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
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { GenkitError } from 'genkit';
import { isUtf8 } from 'node:buffer';
import type { Logger } from 'pino';
import type { AnyFlow } from '../flows/index.js';
import { admitFlowInput } from '../flows/admit-input.js';
import type { FlowContext } from '../server/flow-context.js';
import type { InFlightCalls } from '../server/in-flight-calls.js';
import { normalizeError } from '../server/normalize-error.js';
import { streamLimitError } from '../server/stream-admission.js';
import type { DurableStreams } from '../server/streams/durable-streams.js';
import { callStateOf, type CallState } from './call-gateway.js';
import { DurableRpc } from './durable-stream.js';
import { grpcStatusOf } from './error-status.js';
import { INVALID_UTF8, type MessageConverter } from './message-converter.js';
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
  /** ts-proto's generated message codecs, by message name (the generated module's exports). */
  messages: Record<string, unknown>;
  converter: MessageConverter;
  logger: Logger;
  /** Streaming calls take a MAX_CONCURRENT_STREAMS slot here (shared with REST). */
  calls: InFlightCalls;
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
    definition[rpc.methodName] = checkedDecoding(method, messageCodec(options.messages, rpc.requestMessage));
    // New calls are paced by the gateway interceptor (call-gateway.ts) before any of their work, which
    // is also the rapid-reset check: a call reaches its handler only if the client had not reset it by
    // the pacer's turn (server/admission-pacer.ts).
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
  const { context, signal } = stateOf(call.metadata);
  try {
    const input = prepare(call.request, rpc, flow, options);
    const { result } = await flow.run(input, { context, abortSignal: signal });
    callback(null, options.converter.fromFlowJson(rpc.responseMessage, result), responseTrailers(context));
  } catch (e: unknown) {
    callback(toServiceError(e, signal, rpc, options.logger));
  }
}

async function serveStream(call: ServerWritableStream<Decoded, unknown>, rpc: RpcModel, flow: AnyFlow, options: FlowServiceOptions): Promise<void> {
  const { context, signal } = stateOf(call.metadata);
  // Shed load before any work: the stream would otherwise hold a flow, a model call and buffers.
  const release = options.calls.admitStream();
  if (!release) {
    call.emit('error', toServiceError(streamLimitError(), signal, rpc, options.logger));
    return;
  }
  // Durable (resumable): the flow outlives the call, except past its deadline.
  const durable = options.streams ? new DurableRpc(call, options.streams, flow.__action.name, signal) : null;
  const flowSignal = durable?.signal ?? signal;
  const encode = (message: object) => options.converter.fromFlowJson(rpc.responseMessage, message);
  let stream: Awaited<ReturnType<DurableRpc['open']>> | null = null;
  try {
    const input = prepare(call.request, rpc, flow, options);
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
    if (!signal.aborted) call.emit('error', toServiceError(e, flowSignal, rpc, options.logger));
  } finally {
    release();
  }
}

/**
 * The flow context and abort signal the gateway interceptor settled for this
 * call (it runs the context provider once, before the handler). Every RPC of
 * this service passes through it; a missing state is a wiring bug.
 */
function stateOf(metadata: Metadata): CallState {
  const state = callStateOf(metadata);
  if (!state) throw new Error('gRPC call reached the flow handler without the gateway interceptor');
  return state;
}

/** What the flow reported for this call (the cache outcome), as trailing metadata; none when it reported nothing. */
function responseTrailers(context: unknown): Metadata | undefined {
  const cache = (context as Partial<FlowContext> | undefined)?.response?.cache;
  if (!cache) return undefined;
  const trailers = new Metadata();
  trailers.set('x-cache', cache);
  return trailers;
}

/** Request → validated flow input (defaults applied), before the flow starts. */
function prepare(request: Decoded, rpc: RpcModel, flow: AnyFlow, options: FlowServiceOptions): unknown {
  if (request[UNDECODABLE]) {
    throw new GenkitError({ status: 'INVALID_ARGUMENT', message: `The request is not a valid ${rpc.requestMessage} message.`, detail: { reason: 'MALFORMED_REQUEST' } });
  }
  const json = options.converter.toFlowJson(rpc.requestMessage, request);
  const schema = flow.__action.inputSchema;
  return schema ? admitFlowInput(schema, json) : json;
}

function toServiceError(error: unknown, signal: AbortSignal, rpc: RpcModel, logger: Logger): Partial<ServiceError> {
  const normalized = normalizeError(error, signal);
  if (normalized.status === 'INTERNAL') logger.error({ err: error, rpc: rpc.rpcName }, 'RPC failed');
  return grpcStatusOf(normalized);
}

interface MessageCodec {
  decode(input: BinaryReader | Uint8Array): unknown;
}

function messageCodec(messages: Record<string, unknown>, name: string): MessageCodec {
  const codec = messages[name] as Partial<MessageCodec> | undefined;
  if (typeof codec?.decode !== 'function') throw new Error(`No generated codec for ${name}: run \`npm run gen\` after changing flows`);
  return codec as MessageCodec;
}

const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The reader's UTF-8 decoding for request strings (it only runs for non-ASCII
 * bytes): valid UTF-8 decodes as usual; anything else becomes `INVALID_UTF8`,
 * which the converter refuses naming the field (plain decoding would hand the
 * flow U+FFFD in its place).
 */
function markInvalidUtf8(bytes: Uint8Array): string {
  return isUtf8(bytes) ? lossyUtf8.decode(bytes) : INVALID_UTF8;
}

/**
 * Decodes requests with the generated codec and the UTF-8 check above;
 * undecodable bytes reach the handler as a marker (→ INVALID_ARGUMENT), not
 * as grpc-js's INTERNAL error.
 */
function checkedDecoding(method: MethodDefinition<unknown, unknown>, codec: MessageCodec): MethodDefinition<unknown, unknown> {
  return {
    ...method,
    requestDeserialize: (bytes: Buffer) => {
      try {
        return codec.decode(new BinaryReader(bytes, markInvalidUtf8));
      } catch {
        return { [UNDECODABLE]: true };
      }
    },
  };
}
