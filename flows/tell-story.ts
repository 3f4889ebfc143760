import { z, type Genkit } from 'genkit';
import { defineValidatedFlow } from './validated-flow.js';

export const TellStoryInputSchema = z.object({
  topic: z.string().min(1).max(1000).default('a brave cat').describe('What the story is about.'),
});

export const TellStoryOutputSchema = z.object({
  story: z.string().describe('The whole story, paragraphs separated by blank lines.'),
});

export const TellStoryStreamSchema = z.string().describe('One complete paragraph of the story.');

const PARAGRAPH_BREAK = /\n\s*\n/;

/**
 * Flow-level streaming: the flow decides the chunk boundaries and sends one
 * chunk per finished paragraph, as soon as the model has written it.
 */
export function defineTellStory(ai: Genkit) {
  return defineValidatedFlow(
    ai,
    {
      name: 'tellStory',
      description: 'Writes a short story in three paragraphs.',
      inputSchema: TellStoryInputSchema,
      outputSchema: TellStoryOutputSchema,
      streamSchema: TellStoryStreamSchema,
    },
    async ({ topic }, { sendChunk, abortSignal }) => {
      const { stream, response } = ai.generateStream({
        prompt: `Write a short story about ${topic} in three paragraphs.`,
        abortSignal,
      });
      let pending = '';
      const paragraphs: string[] = [];
      const emit = (paragraph: string) => {
        const text = paragraph.trim();
        if (!text) return;
        paragraphs.push(text);
        sendChunk(text);
      };
      for await (const chunk of stream) {
        pending += chunk.text;
        const parts = pending.split(PARAGRAPH_BREAK);
        pending = parts.pop() ?? '';
        parts.forEach(emit);
      }
      await response;
      emit(pending);
      return { story: paragraphs.join('\n\n') };
    },
  );
}
