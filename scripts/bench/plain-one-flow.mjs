// Start-up baseline: a plain Genkit `startFlowServer` with one trivial flow,
// plain JavaScript (no TypeScript loader), on $PORT. See scripts/bench/startup.ts.
import { startFlowServer } from '@genkit-ai/express';
import { genkit, z } from 'genkit';

const ai = genkit({});
const echo = ai.defineFlow({ name: 'echo', inputSchema: z.object({ text: z.string() }), outputSchema: z.string() }, async ({ text }) => text);
startFlowServer({ flows: [echo], port: Number(process.env.PORT), pathPrefix: '' });
