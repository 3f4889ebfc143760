import { GenkitError, z, type Genkit } from 'genkit';
import type { FlowCache } from '../server/response-cache.js';
import { defineValidatedFlow } from './validated-flow.js';

export const ReviewCodeInputSchema = z.object({
  code: z.string().min(1).max(50000).describe('The source code to review.'),
  language: z.string().max(50).optional().describe('The language of the code; detected when omitted.'),
});

export const CodeReviewIssueSchema = z
  .object({
    severity: z.enum(['error', 'warning', 'info']).describe('How serious the issue is.'),
    line: z.number().int().min(0).max(10_000_000).describe('1-based line number the issue is on (0 when it concerns the whole file).'),
    message: z.string().describe('What is wrong.'),
    suggestion: z.string().describe('How to fix it.'),
  })
  .describe('One problem found in the code.');

export const ReviewCodeOutputSchema = z.object({
  summary: z.string().describe('The review in one or two sentences.'),
  issues: z.array(CodeReviewIssueSchema).describe('Problems found, most serious first.'),
  score: z.number().int().min(1).max(10).describe('Overall quality from 1 (unusable) to 10 (exemplary).'),
  language: z.string().describe('The language of the code, as given or as detected.'),
});

/** Names under which prompts/code_review.prompt finds the schemas. */
export const CODE_REVIEW_SCHEMA_NAMES = { input: 'CodeReviewInput', output: 'CodeReviewOutput' } as const;

/** Dotprompt: the template lives in prompts/code_review.prompt. */
export function defineReviewCode(ai: Genkit, cache: FlowCache | null = null) {
  ai.defineSchema(CODE_REVIEW_SCHEMA_NAMES.input, ReviewCodeInputSchema);
  ai.defineSchema(CODE_REVIEW_SCHEMA_NAMES.output, ReviewCodeOutputSchema);
  const codeReview = ai.prompt<typeof ReviewCodeInputSchema, typeof ReviewCodeOutputSchema>('code_review');

  return defineValidatedFlow(
    ai,
    {
      name: 'reviewCode',
      description: 'Reviews code with the code_review Dotprompt: summary, issues by severity and line, and a score.',
      inputSchema: ReviewCodeInputSchema,
      outputSchema: ReviewCodeOutputSchema,
      cache,
    },
    async (input, { abortSignal }) => {
      const { output } = await codeReview(input, { abortSignal });
      if (!output) throw new GenkitError({ status: 'INTERNAL', message: 'The model returned no review.' });
      return input.language ? { ...output, language: input.language } : output;
    },
  );
}
