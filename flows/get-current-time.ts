import { z, type Genkit } from 'genkit';

export const GetCurrentTimeInputSchema = z.object({}).describe('No input: the tool always answers in UTC.');
export const GetCurrentTimeOutputSchema = z.object({
  utc: z.string().describe('The current time in UTC, ISO 8601 (e.g. 2025-01-31T12:00:00.000Z).'),
});

/** Tool offered to the model by translateText: the current UTC time. */
export function defineGetCurrentTime(ai: Genkit) {
  return ai.defineTool(
    {
      name: 'getCurrentTime',
      description: 'Returns the current date and time in UTC (ISO 8601).',
      inputSchema: GetCurrentTimeInputSchema,
      outputSchema: GetCurrentTimeOutputSchema,
    },
    async () => ({ utc: new Date().toISOString() }),
  );
}
