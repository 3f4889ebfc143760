import { GenkitError, z, type Genkit } from 'genkit';
import type { FlowCache } from '../server/response-cache.js';
import { defineValidatedFlow } from './validated-flow.js';

export const GenerateCharacterInputSchema = z.object({
  name: z.string().min(1).max(200).default('Luna').describe('The character\'s name.'),
});

const Skill = (what: string) => z.number().int().min(0).max(100).describe(`${what}, from 0 to 100.`);

export const GenerateCharacterOutputSchema = z.object({
  name: z.string().describe('The character\'s name.'),
  backStory: z.string().describe('Where the character comes from, in a few sentences.'),
  abilities: z.array(z.string().describe('One ability.')).max(10).describe('Special abilities, at most 10.'),
  skills: z
    .object({
      strength: Skill('Physical strength'),
      charisma: Skill('Charm and persuasiveness'),
      endurance: Skill('Stamina'),
    })
    .describe('Skill scores.'),
});

/** Nested structured output: an object with an array and a nested object of bounded integers. */
export function defineGenerateCharacter(ai: Genkit, cache: FlowCache | null = null) {
  return defineValidatedFlow(
    ai,
    {
      name: 'generateCharacter',
      description: 'Invents a role-playing game character: back story, abilities and skill scores.',
      inputSchema: GenerateCharacterInputSchema,
      outputSchema: GenerateCharacterOutputSchema,
      cache,
    },
    async ({ name }, { abortSignal }) => {
      const { output } = await ai.generate({
        prompt: `Create a role-playing game character named "${name}" with a back story, abilities and skills.`,
        output: { schema: GenerateCharacterOutputSchema },
        abortSignal,
      });
      if (!output) throw new GenkitError({ status: 'INTERNAL', message: 'The model returned no character.' });
      // The caller chose the name; the model only invents everything else.
      return { ...output, name };
    },
  );
}
