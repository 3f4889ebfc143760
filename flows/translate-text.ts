import { GenkitError, z, type Genkit } from 'genkit';
import type { FlowCache } from '../server/response-cache.js';
import { defineValidatedFlow } from './validated-flow.js';

export const TranslateTextInputSchema = z.object({
  text: z
    .string()
    .min(1)
    .max(10000)
    .default('Genkit makes it easy to build AI features. This sentence is a friendly example to translate.')
    .describe('The text to translate. Only the first 2000 characters after trimming are translated.'),
  targetLanguage: z.string().max(100).default('French').describe('The language to translate into, e.g. "French".'),
});

/** What the model is asked to return; the flow adds the fields it already knows. */
const ModelTranslationSchema = z.object({
  translatedText: z.string().describe('The translation.'),
  confidence: z.enum(['high', 'medium', 'low']).describe('How sure the model is of the translation.'),
});

export const TranslateTextOutputSchema = z.object({
  originalText: z.string().describe('The text that was translated (trimmed, at most 2000 characters).'),
  translatedText: z.string().describe('The translation.'),
  targetLanguage: z.string().describe('The language translated into.'),
  confidence: z.enum(['high', 'medium', 'low']).describe('How sure the model is of the translation.'),
});

export const SANITIZED_TEXT_LIMIT = 2000;

/** Structured output, a tool offered to the model, and a traced `ai.run` step. */
export function defineTranslateText(ai: Genkit, tools: { getCurrentTime: string }, cache: FlowCache | null = null) {
  return defineValidatedFlow(
    ai,
    {
      name: 'translateText',
      description:
        'Translates text into a target language and rates its confidence; the model may ask the getCurrentTime tool for the date.',
      inputSchema: TranslateTextInputSchema,
      outputSchema: TranslateTextOutputSchema,
      cache,
    },
    async ({ text, targetLanguage }, { abortSignal }) => {
      const sanitized = await ai.run('sanitize-input', async () => text.trim().slice(0, SANITIZED_TEXT_LIMIT));
      const { output } = await ai.generate({
        prompt:
          `Translate the following text into ${targetLanguage}. ` +
          'If the text mentions dates or times relative to now, use the getCurrentTime tool.\n\n' +
          `Text: "${sanitized}"`,
        tools: [tools.getCurrentTime],
        output: { schema: ModelTranslationSchema },
        abortSignal,
      });
      if (!output) throw new GenkitError({ status: 'INTERNAL', message: 'The model returned no translation.' });
      return { originalText: sanitized, translatedText: output.translatedText, targetLanguage, confidence: output.confidence };
    },
  );
}
