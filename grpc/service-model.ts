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
    const request = builder.addMessage(`${base}Request`, flow.inputSchema ?? z.unknown(), `Input of the ${flow.name} flow.`);
    const response = builder.addMessage(`${base}Response`, flow.outputSchema ?? z.unknown(), `Result of the ${flow.name} flow.`);
    rpcs.push({
      flowName: flow.name,
      rpcName: base,
      methodName: tsProtoMethodName(base),
      requestMessage: request.name,
      responseMessage: response.name,
      serverStreaming: false,
      description: flow.description,
    });
    if (flow.streamSchema && !(flow.streamSchema instanceof z.ZodVoid)) {
      const streamMessage = addStreamMessage(builder, `${base}Stream`, flow.streamSchema, response);
      rpcs.push({
        flowName: flow.name,
        rpcName: `${base}Stream`,
        methodName: tsProtoMethodName(`${base}Stream`),
        requestMessage: request.name,
        responseMessage: streamMessage.name,
        serverStreaming: true,
        description: `${flow.description ?? flow.name} Streams each chunk as the flow sends it, then exactly one result.`,
      });
    }
  }
  return { schema: builder.model, rpcs };
}

function addStreamMessage(builder: SchemaModelBuilder, base: string, chunkSchema: z.ZodTypeAny, result: MessageModel): MessageModel {
  const chunk = builder.slotField('chunk', chunkSchema, base, STREAM_ONEOF);
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
  };
  const message: MessageModel = {
    name: `${base}Response`,
    fields: [{ ...chunk, description: chunk.description ?? 'One chunk, as the flow sent it.' }, resultField],
    description: `One message of the ${base} stream: a chunk, or the final result.`,
    wrapsValue: false,
  };
  builder.model.messages.set(message.name, message);
  return message;
}
