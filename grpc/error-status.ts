import { Metadata, type ServerInterceptingCallInterface } from '@grpc/grpc-js';
import type { GenkitError } from 'genkit';
import { GRPC_STATUS } from '../server/status-codes.js';

type PartialStatus = Parameters<ServerInterceptingCallInterface['sendStatus']>[0];

/** A GenkitError as the gRPC status a client receives: code, message, and `retry-after` when there is one. */
export function grpcStatusOf(error: GenkitError): PartialStatus & { metadata: Metadata } {
  const metadata = new Metadata();
  const retryAfter = (error.detail as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
  if (retryAfter !== undefined) metadata.set('retry-after', String(retryAfter));
  return { code: GRPC_STATUS[error.status], details: error.originalMessage, metadata };
}
