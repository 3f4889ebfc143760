import { Server, ServerCredentials } from '@grpc/grpc-js';
import { defineFlows } from '../../dist/flows/index.js';
import { FlowServiceService } from '../../dist/generated/ts/genkit/flows/v1/flows.js';
import { createGenkit } from '../../dist/genkit.config.js';

/**
 * Bench baseline B: the smallest hand-written grpc-js service that calls the
 * same flow directly (generated codec, no interceptors, no generic layer).
 * Plain JavaScript on the dist/ build, run by plain node like our server.
 */
const { ai } = createGenkit({ kind: 'offline', latencyMs: 0 });
const tellJoke = defineFlows(ai).find((f) => f.__action.name === 'tellJoke');
const server = new Server();
server.addService(
  { tellJoke: FlowServiceService.tellJoke },
  {
    tellJoke: (call, callback) => {
      tellJoke.run({ name: call.request.name ?? 'Mittens' }).then(
        ({ result }) => callback(null, result),
        (e) => callback(e),
      );
    },
  },
);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`LISTENING ${port}\n`);
});
