import { GenkitError, z, type Genkit } from 'genkit';
import type { FlowCache } from '../server/response-cache.js';
import { defineValidatedFlow } from './validated-flow.js';

export const GenerateCodeInputSchema = z.object({
  description: z.string().min(1).max(10000).describe('What the code should do.'),
  language: z
    .string()
    .max(50)
    .regex(/^[a-zA-Z#+]+$/, 'must contain only letters, "#" and "+" (e.g. python, c#, c++)')
    .default('python')
    .describe('Programming language, e.g. python, typescript, c#, c++.'),
});

const ModelCodeSchema = z.object({
  code: z.string().describe('The source code.'),
  explanation: z.string().describe('How the code works, in a few sentences.'),
  filename: z.string().describe('A suggested file name, e.g. main.py.'),
});

export const GenerateCodeOutputSchema = z.object({
  code: z.string().describe('The source code.'),
  language: z.string().describe('The language the code is written in.'),
  explanation: z.string().describe('How the code works, in a few sentences.'),
  filename: z.string().describe('A suggested file name, e.g. main.py.'),
});

/** Structured output: code plus an explanation and a file name. */
export function defineGenerateCode(ai: Genkit, cache: FlowCache | null = null) {
  return defineValidatedFlow(
    ai,
    {
      name: 'generateCode',
      description: 'Writes code in a given language from a description, with an explanation and a file name.',
      inputSchema: GenerateCodeInputSchema,
      outputSchema: GenerateCodeOutputSchema,
      cache,
    },
    async ({ description, language }, { abortSignal }) => {
      const { output } = await ai.generate({
        prompt: `Write ${language} code that does the following: "${description}". Keep it short and idiomatic.`,
        output: { schema: ModelCodeSchema },
        abortSignal,
      });
      if (!output) throw new GenkitError({ status: 'INTERNAL', message: 'The model returned no code.' });
      return { code: output.code, language, explanation: output.explanation, filename: output.filename };
    },
  );
}
