import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFlow, streamFlow } from 'genkit/beta/client';
import {
  reviewCodeResponse_Issue_SeverityToJSON,
  translateTextResponse_ConfidenceToJSON,
  type FlowServiceClient,
} from '../generated/ts/genkit/flows/v1/flows.js';
import { DEFAULTS_INPUTS, STREAMING_FLOWS, VALID_INPUTS } from './support/flow-inputs.js';
import { callStream, callUnary, collect, withoutUndefined, useServerWithClient } from './support/grpc-client.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/**
 * The same input over REST (Genkit's client) and over gRPC (the generated
 * client) must give the same output. gRPC enums arrive as numbers: they are
 * turned back into Zod's strings with the generated `…ToJSON` functions, so
 * this test does not reuse the server's own converter.
 */

const enumValue = (protoName: string, prefix: string) => {
  assert.ok(protoName.startsWith(prefix), `${protoName} starts with ${prefix}`);
  return protoName.slice(prefix.length).toLowerCase();
};

type Json = Record<string, unknown>;
const ENUM_FIELDS: Record<string, (response: Json) => Json> = {
  translateText: (r) => ({
    ...r,
    confidence: enumValue(translateTextResponse_ConfidenceToJSON(r.confidence as number), 'CONFIDENCE_'),
  }),
  reviewCode: (r) => ({
    ...r,
    issues: (r.issues as Json[]).map((issue) => ({
      ...issue,
      severity: enumValue(reviewCodeResponse_Issue_SeverityToJSON(issue.severity as number), 'SEVERITY_'),
    })),
  }),
};

const asJson = (flow: string, response: unknown): Json => {
  const plain = withoutUndefined(response) as Json;
  return ENUM_FIELDS[flow]?.(plain) ?? plain;
};

const methodOf = (flow: string) => flow; // ts-proto method names equal the flow names for camelCase flows

describe('gRPC parity with REST on the offline model', () => {
  let server: TestServer;
  let client: FlowServiceClient;
  useServerWithClient(
    () => startTestServer(),
    (s, c) => ((server = s), (client = c)),
  );

  for (const [label, inputs] of [
    ['a typical input', VALID_INPUTS],
    ['the defaults', DEFAULTS_INPUTS],
  ] as const) {
    for (const [flow, input] of Object.entries(inputs)) {
      it(`${flow} with ${label}: the gRPC response equals the REST result`, async () => {
        const [rest, grpc] = await Promise.all([
          runFlow({ url: `${server.baseUrl}/${flow}`, input }),
          callUnary(client, methodOf(flow), input as object),
        ]);
        assert.deepEqual(asJson(flow, grpc), rest);
      });
    }
  }

  for (const flow of STREAMING_FLOWS) {
    it(`${flow}Stream relays the same chunks in the same order as REST streaming, then exactly one result`, async () => {
      const input = VALID_INPUTS[flow] as object;
      const rest = streamFlow({ url: `${server.baseUrl}/${flow}`, input });
      const restChunks: unknown[] = [];
      for await (const chunk of rest.stream) restChunks.push(chunk);
      const restResult = await rest.output;

      const messages = (await collect(callStream(client, `${flow}Stream`, input))) as Json[];
      const chunks = messages.slice(0, -1);
      const last = messages.at(-1)!;
      assert.ok(chunks.length >= 2);
      assert.ok(chunks.every((m) => m.chunk !== undefined && m.result === undefined), 'every message but the last is a chunk');
      assert.deepEqual(
        chunks.map((m) => m.chunk),
        restChunks,
      );
      assert.equal(last.chunk, undefined);
      assert.deepEqual(withoutUndefined(last.result), restResult);
    });
  }
});
