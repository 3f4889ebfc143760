import { z, type Genkit } from 'genkit';
import { defineValidatedFlow } from './validated-flow.js';

export const TellJokeInputSchema = z.object({
  name: z.string().max(200).default('Mittens').describe('Who or what the joke is about.'),
  username: z.string().max(200).optional().describe('Name of the caller, echoed back in the result when given.'),
});

export const TellJokeOutputSchema = z.object({
  joke: z.string().describe('The complete joke.'),
  username: z.string().optional().describe('The caller the joke was told to, when known.'),
});

export const TellJokeStreamSchema = z.string().describe('A piece of the joke text, in the order the model writes it.');

/** Generate-level streaming: relays the model's own text chunks as they arrive. */
export function defineTellJoke(ai: Genkit) {
  return defineValidatedFlow(
    ai,
    {
      name: 'tellJoke',
      description: 'Tells a short, family-friendly joke about a name.',
      inputSchema: TellJokeInputSchema,
      outputSchema: TellJokeOutputSchema,
      streamSchema: TellJokeStreamSchema,
    },
    async ({ name, username: given }, { sendChunk, abortSignal, context }) => {
      // An authenticated caller's identity is the username unless the input names one.
      const username = given ?? (context as { auth?: { name?: string } } | undefined)?.auth?.name;
      const { stream, response } = ai.generateStream({
        prompt: `Tell a short, family-friendly joke about ${name}.`,
        abortSignal,
      });
      for await (const chunk of stream) {
        if (chunk.text) sendChunk(chunk.text);
      }
      const joke = (await response).text;
      return username === undefined ? { joke } : { joke, username };
    },
  );
}
