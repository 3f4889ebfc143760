import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { defineFlows } from '../../flows/index.js';
import { FlowServiceService, type TellJokeRequest, type TellJokeResponse } from '../../generated/ts/genkit/flows/v1/flows.js';
import { createGenkit } from '../../genkit.config.js';

/**
 * Bench baseline B: the smallest hand-written grpc-js service that calls the
 * same flow directly (generated codec, no interceptors, no generic layer).
 */
const { ai } = createGenkit({ kind: 'offline', latencyMs: 0 });
const tellJoke = defineFlows(ai).find((f) => f.__action.name === 'tellJoke')!;
const server = new Server();
server.addService(
  { tellJoke: FlowServiceService.tellJoke },
  {
    tellJoke: (call: ServerUnaryCall<TellJokeRequest, TellJokeResponse>, callback: sendUnaryData<TellJokeResponse>) => {
      tellJoke.run({ name: call.request.name ?? 'Mittens' }).then(
        ({ result }) => callback(null, result as TellJokeResponse),
        (e: unknown) => callback(e as Error),
      );
    },
  },
);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`LISTENING ${port}\n`);
});
