import { toJsonSchema } from '@genkit-ai/core/schema';
import type { z } from 'genkit';
import { pascalCase } from '../grpc/naming.js';
import type { FlowSchemas } from '../grpc/service-model.js';
import { instanceFromSchema } from '../models/offline/instance-from-schema.js';

/**
 * The REST contract as OpenAPI 3.1, generated from the same flow list as the
 * proto: Genkit's flow-server protocol (`{data}` → `{result}`, or an SSE
 * stream of `{message}` events and one `{result}` event), Genkit's callable
 * error body, /health and the Bearer scheme. Deterministic.
 */

type Json = Record<string, unknown>;

export const OPENAPI_VERSION = '3.1.0';
export const BEARER_SCHEME = 'bearerAuth';

/** The errors every flow can answer, with the Genkit status each one carries. */
const ERROR_RESPONSES: Record<string, { name: string; description: string }> = {
  '400': { name: 'InvalidArgument', description: 'INVALID_ARGUMENT: the input breaks the schema (the message names the field), or the body is not JSON.' },
  '401': { name: 'Unauthenticated', description: 'UNAUTHENTICATED: API keys are configured and the Bearer key is missing or wrong.' },
  '413': { name: 'PayloadTooLarge', description: 'RESOURCE_EXHAUSTED: the body exceeds MAX_BODY_SIZE.' },
  '429': { name: 'RateLimited', description: 'RESOURCE_EXHAUSTED: the per-IP rate limit is spent; see Retry-After.' },
  '500': { name: 'Internal', description: 'INTERNAL: an unexpected error (details are in the server log, never here).' },
  '503': { name: 'Unavailable', description: 'UNAVAILABLE: the model is unavailable (circuit open; see Retry-After) or the server is shutting down.' },
  '504': { name: 'DeadlineExceeded', description: 'DEADLINE_EXCEEDED: the model did not answer in time.' },
};

export function buildOpenApi(flows: readonly FlowSchemas[], info: { title: string; version: string }): Json {
  const schemas: Json = { CallableError: callableErrorSchema() };
  const paths: Json = { '/health': healthPath() };
  for (const flow of flows) {
    const base = pascalCase(flow.name);
    const input = jsonSchemaOf(flow.inputSchema);
    const output = jsonSchemaOf(flow.outputSchema);
    schemas[`${base}Input`] = input;
    schemas[`${base}Output`] = output;
    schemas[`${base}Request`] = envelope('data', `${base}Input`, 'The flow input, under "data".');
    schemas[`${base}Response`] = envelope('result', `${base}Output`, 'The flow result, under "result".');
    const streams = flow.streamSchema !== undefined;
    if (streams) schemas[`${base}StreamChunk`] = jsonSchemaOf(flow.streamSchema);
    paths[`/${flow.name}`] = { post: flowOperation(flow, base, input, streams), delete: cancelOperation(flow) };
  }
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: info.title,
      version: info.version,
      description:
        "Genkit's flow-server protocol: POST `{\"data\": input}` to `/<flow>` and get `{\"result\": output}`. With `?stream=true` or " +
        '`Accept: text/event-stream`, the answer is a stream of `data: {"message": chunk}` events and one final `data: {"result": output}` event. ' +
        'Errors are `{"status", "message", "details"?}` with Genkit status names.',
    },
    paths,
    components: {
      schemas,
      responses: Object.fromEntries(
        Object.values(ERROR_RESPONSES).map(({ name, description }) => [
          name,
          { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/CallableError' } } } },
        ]),
      ),
      securitySchemes: {
        [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', description: 'One of the keys in API_KEYS (only when API keys are configured).' },
      },
    },
  };
}

function flowOperation(flow: FlowSchemas, base: string, input: Json, streams: boolean): Json {
  const streamNote = streams
    ? `Streams: each \`message\` is a ${base}StreamChunk; the last event carries the result.`
    : 'With `?stream=true` the answer is a single `result` event (this flow sends no chunks).';
  return {
    operationId: flow.name,
    summary: flow.description ?? flow.name,
    description: `${flow.description ?? ''}\n\n${streamNote}`.trim(),
    parameters: [
      {
        name: 'stream',
        in: 'query',
        required: false,
        description: 'true: answer as a text/event-stream (same as `Accept: text/event-stream`).',
        schema: { type: 'string', enum: ['true', 'false'] },
      },
      STREAM_ID_PARAMETER,
    ],
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: { $ref: `#/components/schemas/${base}Request` },
          example: { data: exampleFrom(input) },
        },
      },
    },
    responses: {
      '200': {
        description: 'The result, or with streaming, the event stream.',
        content: {
          'application/json': { schema: { $ref: `#/components/schemas/${base}Response` } },
          'text/event-stream': {
            schema: {
              type: 'string',
              description: streams
              ? `\`data: {"message": <${base}StreamChunk>}\` events, then \`data: {"result": <${base}Output>}\`; a failure after the stream started is an \`error: {"error": <CallableError>}\` event.`
              : `One \`data: {"result": <${base}Output>}\` event.`,
            },
          },
        },
      },
      '204': { description: 'Resume only: no stream has this x-genkit-stream-id (unknown or expired).' },
      ...Object.fromEntries(Object.entries(ERROR_RESPONSES).map(([code, { name }]) => [code, { $ref: `#/components/responses/${name}` }])),
    },
  };
}

const STREAM_ID_PARAMETER: Json = {
  name: 'x-genkit-stream-id',
  in: 'header',
  required: false,
  description:
    'Streaming responses carry this header. Sent back with `?stream=true`, on any replica, it replays that stream from its first chunk, then its result or error (see README "Scaling out").',
  schema: { type: 'string' },
};

/** DELETE /<flow>: the explicit cancel of a resumable stream (a disconnect does not cancel one). */
function cancelOperation(flow: FlowSchemas): Json {
  return {
    operationId: `${flow.name}CancelStream`,
    summary: `Cancel a running ${flow.name} stream`,
    description: 'Stops the flow behind a resumable stream, on whichever replica runs it; a resume then ends with CANCELLED.',
    parameters: [{ ...STREAM_ID_PARAMETER, required: true, description: 'The stream to cancel.' }],
    responses: {
      '204': { description: 'The flow was told to stop (or had already finished).' },
      '404': { description: 'No stream has this id (unknown or expired).', content: { 'application/json': { schema: { $ref: '#/components/schemas/CallableError' } } } },
    },
  };
}

/** Defaults where the schema has them; for required fields without one, a value valid against the schema. */
export function exampleFrom(schema: Json): Json {
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  const example: Json = {};
  for (const [name, property] of Object.entries(properties)) {
    if ('default' in property) example[name] = property.default;
    else if (required.has(name)) example[name] = instanceFromSchema(property, { seed: 1, describe: () => `example ${name}` });
  }
  return example;
}

/** The flow's JSON schema exactly as Genkit derives it (minus the draft-07 `$schema` marker, invalid inside OpenAPI). */
export function jsonSchemaOf(schema: z.ZodTypeAny | undefined): Json {
  if (!schema) return {};
  const { $schema: _draft, ...rest } = toJsonSchema({ schema }) as Json;
  return rest;
}

function envelope(key: string, ref: string, description: string): Json {
  return { type: 'object', required: [key], properties: { [key]: { $ref: `#/components/schemas/${ref}`, description } } };
}

function callableErrorSchema(): Json {
  return {
    type: 'object',
    required: ['status', 'message'],
    properties: {
      status: { type: 'string', description: 'Genkit status name (the gRPC code name), e.g. INVALID_ARGUMENT.' },
      message: { type: 'string', description: 'What went wrong; never a stack trace.' },
      details: {
        type: 'object',
        description:
          'Structured detail: the facts gRPC sends as google.rpc.Status details (AIP-193), in proto3 JSON, ' +
          'plus older keys kept for existing clients (`fields`, `retryAfterSeconds`).',
        properties: {
          errorInfo: {
            type: 'object',
            description: 'google.rpc.ErrorInfo: a stable reason (e.g. INVALID_INPUT, RATE_LIMITED, API_KEY_MISSING) within a domain.',
            required: ['reason', 'domain'],
            properties: { reason: { type: 'string' }, domain: { type: 'string' }, metadata: { type: 'object', additionalProperties: { type: 'string' } } },
          },
          badRequest: {
            type: 'object',
            description: 'google.rpc.BadRequest, on INVALID_ARGUMENT: one violation per field (JSON names, e.g. targetLanguage).',
            properties: {
              fieldViolations: {
                type: 'array',
                items: { type: 'object', properties: { field: { type: 'string' }, description: { type: 'string' } } },
              },
            },
          },
          retryInfo: {
            type: 'object',
            description: 'google.rpc.RetryInfo, on RESOURCE_EXHAUSTED / UNAVAILABLE when a retry can succeed.',
            properties: { retryDelay: { type: 'string', description: 'A duration, e.g. "30s".' } },
          },
        },
      },
    },
  };
}

function healthPath(): Json {
  return {
    get: {
      operationId: 'health',
      summary: 'Liveness and readiness: the model in use and the circuit state (with API keys configured, only "status" unless a valid key is sent).',
      security: [],
      responses: {
        '200': {
          description: 'Serving.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['status'],
                properties: {
                  status: { type: 'string', enum: ['ok'] },
                  model: { type: 'string' },
                  offline: { type: 'boolean' },
                  flows: { type: 'integer' },
                  circuit: { type: 'string', enum: ['CLOSED', 'OPEN', 'HALF_OPEN', 'DISABLED'] },
                  eventLoop: {
                    type: 'object',
                    description: 'Event-loop delay over the last 10-20 s.',
                    properties: { p99Ms: { type: 'number' }, maxMs: { type: 'number' } },
                  },
                  workers: {
                    type: 'object',
                    description: 'Worker processes serving on these ports (WEB_CONCURRENCY), of how many configured.',
                    properties: { serving: { type: 'integer' }, configured: { type: 'integer' } },
                  },
                  redis: {
                    type: 'string',
                    enum: ['connecting', 'up', 'down'],
                    description: 'Only with REDIS_URL: down means limits, cache and new streams are local until it returns.',
                  },
                },
              },
            },
          },
        },
        '503': { description: 'Shutting down (status "shutting_down").' },
      },
    },
  };
}
