import { Metadata, type ServerInterceptingCallInterface } from '@grpc/grpc-js';
import type { GenkitError } from 'genkit';
import { Any } from '../generated/ts/google/protobuf/any.js';
import { BadRequest, ErrorInfo, RetryInfo } from '../generated/ts/google/rpc/error_details.js';
import { Status } from '../generated/ts/google/rpc/status.js';
import { errorDetails } from '../server/error-details.js';
import { GRPC_STATUS } from '../server/status-codes.js';
import { snakeCase } from './naming.js';

type PartialStatus = Parameters<ServerInterceptingCallInterface['sendStatus']>[0];

/** The trailer that carries a serialized google.rpc.Status (the gRPC "richer error model"). */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
const TYPE_URL_PREFIX = 'type.googleapis.com/';

/**
 * A GenkitError as the gRPC status a client receives: code and message,
 * `retry-after` when there is one, and `grpc-status-details-bin` with the
 * AIP-193 details (ErrorInfo always; BadRequest, RetryInfo when they apply) —
 * the same facts REST puts in its error body (server/error-details.ts).
 */
export function grpcStatusOf(error: GenkitError): PartialStatus & { metadata: Metadata } {
  const code = GRPC_STATUS[error.status];
  const facts = errorDetails(error);
  const details: Any[] = [
    pack('google.rpc.ErrorInfo', ErrorInfo.encode({ reason: facts.errorInfo.reason, domain: facts.errorInfo.domain, metadata: facts.errorInfo.metadata ?? {} }).finish()),
  ];
  if (facts.badRequest) {
    const fieldViolations = facts.badRequest.fieldViolations.map((v) => ({ field: protoFieldPath(v.field), description: v.description }));
    details.push(pack('google.rpc.BadRequest', BadRequest.encode({ fieldViolations }).finish()));
  }
  if (facts.retryInfo) {
    const seconds = BigInt(Number.parseInt(facts.retryInfo.retryDelay, 10));
    details.push(pack('google.rpc.RetryInfo', RetryInfo.encode({ retryDelay: { seconds, nanos: 0 } }).finish()));
  }
  const metadata = new Metadata();
  const retryAfter = (error.detail as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
  if (retryAfter !== undefined) metadata.set('retry-after', String(retryAfter));
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode({ code, message: error.originalMessage, details }).finish()));
  return { code, details: error.originalMessage, metadata };
}

function pack(typeName: string, value: Uint8Array): Any {
  return { typeUrl: `${TYPE_URL_PREFIX}${typeName}`, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
}

/**
 * A JSON-name field path (`targetLanguage`, `items[0].backStory`,
 * `labels["k"]`) in proto names (`target_language`, `items[0].back_story`,
 * `labels["k"]`): every field name is snake_cased the way the proto
 * generator names fields; indices and quoted map keys stay as they are.
 */
export function protoFieldPath(jsonPath: string): string {
  return jsonPath.replace(/\["(?:[^"\\]|\\.)*"\]|\[\d+\]|[A-Za-z_][A-Za-z0-9_]*/g, (token) => (token.startsWith('[') ? token : snakeCase(token)));
}
