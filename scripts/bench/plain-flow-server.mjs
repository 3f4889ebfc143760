import { once } from 'node:events';
import { createServer } from 'node:net';
import { startFlowServer } from '@genkit-ai/express';
import { defineFlows } from '../../dist/flows/index.js';
import { createGenkit } from '../../dist/genkit.config.js';

/**
 * Bench baseline A: a plain `startFlowServer` of the same flows on the
 * offline model. Plain JavaScript on the dist/ build, run by plain node
 * like our server, so neither side pays for tsx.
 */
const { ai } = createGenkit({ kind: 'offline', latencyMs: Number(process.env.OFFLINE_MODEL_LATENCY_MS ?? 0) });
const probe = createServer().listen(0, '127.0.0.1');
await once(probe, 'listening');
const port = probe.address().port;
await new Promise((resolve) => probe.close(resolve));
// startFlowServer treats port 0 as 3400, so it gets a port we just saw free.
startFlowServer({ flows: [...defineFlows(ai)], port });
process.stdout.write(`LISTENING ${port}\n`);
