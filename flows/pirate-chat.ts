import { z, type Genkit } from 'genkit';
import { defineValidatedFlow } from './validated-flow.js';

export const PirateChatInputSchema = z.object({
  question: z
    .string()
    .min(1)
    .max(5000)
    .default('What is the best programming language?')
    .describe('The question for the pirate captain.'),
});

export const PIRATE_PERSONA = 'pirate captain' as const;

export const PirateChatOutputSchema = z.object({
  answer: z.string().describe('The answer, in the voice of a pirate captain.'),
  persona: z.literal(PIRATE_PERSONA).describe('The persona that answered: always "pirate captain".'),
});

const SYSTEM_PROMPT =
  'You are a pirate captain. Answer every question helpfully, but always speak like a pirate: ' +
  'say "Arr", call the user "matey", and use nautical words.';

/** A system prompt sets the persona. */
export function definePirateChat(ai: Genkit) {
  return defineValidatedFlow(
    ai,
    {
      name: 'pirateChat',
      description: 'Answers a question in the voice of a pirate captain (system prompt).',
      inputSchema: PirateChatInputSchema,
      outputSchema: PirateChatOutputSchema,
    },
    async ({ question }, { abortSignal }) => {
      const response = await ai.generate({ system: SYSTEM_PROMPT, prompt: question, abortSignal });
      return { answer: response.text, persona: PIRATE_PERSONA };
    },
  );
}
