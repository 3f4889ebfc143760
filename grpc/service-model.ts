import { z } from 'genkit';
import type { AnyFlow } from '../flows/index.js';
import { pascalCase, tsProtoMethodName } from './naming.js';
import { SchemaModelBuilder, type FieldModel, type MessageModel, type SchemaModel } from './schema-model.js';

/**
 * The gRPC service derived from the flow list: one unary RPC per flow, plus a
 * server-streaming `<Flow>Stream` RPC for every flow with a stream schema.
 */

export const PROTO_PACKAGE = 'genkit.flows.v1';
export const SERVICE_NAME = 'FlowService';
export const FULL_SERVICE_NAME = `${PROTO_PACKAGE}.${SERVICE_NAME}`;
/** The oneof of a streaming response: each chunk, then exactly one result. */
export const STREAM_ONEOF = 'event';

export interface RpcModel {
  flowName: string;
  rpcName: string;
  /** The method's name in ts-proto's grpc-js service definition. */
  methodName: string;
  requestMessage: string;
  responseMessage: string;
  serverStreaming: boolean;
  description?: string;
}

export interface ServiceModel {
  schema: SchemaModel;
  rpcs: RpcModel[];
}

export interface FlowSchemas {
  name: string;
  description?: string;
  inputSchema?: z.ZodTypeAny;
  outputSchema?: z.ZodTypeAny;
  streamSchema?: z.ZodTypeAny;
}

export function flowSchemas(flow: AnyFlow): FlowSchemas {
  const action = flow.__action;
  return {
    name: action.name,
    description: action.description,
    inputSchema: action.inputSchema,
    outputSchema: action.outputSchema,
    streamSchema: action.streamSchema,
  };
}

export function buildServiceModel(flows: readonly FlowSchemas[]): ServiceModel {
  const builder = new SchemaModelBuilder();
  const rpcs: RpcModel[] = [];
  for (const flow of flows) {
    const base = pascalCase(flow.name);
    const description = flow.description ?? `Runs the ${flow.name} flow.`;
    const input = flow.inputSchema ?? z.unknown();
    const request = builder.addMessage(`${base}Request`, input, `Input of the ${flow.name} flow, for the unary ${base} RPC.`);
    const response = builder.addMessage(`${base}Response`, flow.outputSchema ?? z.unknown(), `Result of the ${flow.name} flow.`);
    rpcs.push({
      flowName: flow.name,
      rpcName: base,
      methodName: tsProtoMethodName(base),
      requestMessage: request.name,
      responseMessage: response.name,
      serverStreaming: false,
      description: `${description}\nUnary: one response with the complete result.`,
    });
    if (flow.streamSchema && !(flow.streamSchema instanceof z.ZodVoid)) {
      // Its own request message (buf STANDARD: one request type per RPC), with the same fields as `<Flow>Request`.
      // Its fields are the unary request's own (same names, numbers and nested types).
      const streamRequest: MessageModel = {
        ...request,
        name: `${base}StreamRequest`,
        description: `Input of the ${flow.name} flow, for the server-streaming ${base}Stream RPC: the same fields as ${request.name}.`,
      };
      builder.model.messages.set(streamRequest.name, streamRequest);
      const streamMessage = addStreamMessage(builder, `${base}StreamResponse`, flow.streamSchema, response);
      rpcs.push({
        flowName: flow.name,
        rpcName: `${base}Stream`,
        methodName: tsProtoMethodName(`${base}Stream`),
        requestMessage: streamRequest.name,
        responseMessage: streamMessage.name,
        serverStreaming: true,
        description: `${description}\nServer streaming: each chunk as the flow sends it, then exactly one message with the result.`,
      });
    }
  }
  return { schema: builder.model, rpcs };
}

function addStreamMessage(builder: SchemaModelBuilder, name: string, chunkSchema: z.ZodTypeAny, result: MessageModel): MessageModel {
  const chunk = builder.slotField('chunk', chunkSchema, name, STREAM_ONEOF);
  const resultField: FieldModel = {
    jsonName: 'result',
    protoName: 'result',
    tsName: 'result',
    type: { kind: 'message', messageName: result.name },
    repeated: false,
    map: false,
    optional: false,
    oneof: STREAM_ONEOF,
    description: 'The final output; always the last message of the stream.',
    required: false,
    constraints: [],
  };
  const message: MessageModel = {
    name,
    fields: [{ ...chunk, description: chunk.description ?? 'One chunk, as the flow sent it.' }, resultField],
    description: `One message of the ${name.replace(/Response$/, '')} stream: a chunk, or the final result.`,
    oneofs: { [STREAM_ONEOF]: 'What this message carries: chunks come first, in order; the result is always last.' },
    wrapsValue: false,
  };
  builder.model.messages.set(message.name, message);
  return message;
}
