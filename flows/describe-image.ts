import { z, type Genkit } from 'genkit';
import { checkImageUrl, type ImageUrlPolicy } from './image-url-guard.js';
import type { FlowCache } from '../server/response-cache.js';
import { defineValidatedFlow } from './validated-flow.js';

export const DEFAULT_IMAGE_URL =
  'https://upload.wikimedia.org/wikipedia/commons/4/47/PNG_transparency_demonstration_1.png';

export const DescribeImageInputSchema = z.object({
  imageUrl: z.string().url().max(2048).default(DEFAULT_IMAGE_URL).describe('Public URL of the image to describe.'),
});

export const DescribeImageOutputSchema = z.object({
  description: z.string().describe('What the image shows.'),
  imageUrl: z.string().describe('The image that was described.'),
});

/** Multimodal input: the image travels to the model as a media part. */
export function defineDescribeImage(ai: Genkit, policy: ImageUrlPolicy, cache: FlowCache | null = null) {
  return defineValidatedFlow(
    ai,
    {
      name: 'describeImage',
      description: 'Describes the image at a URL in a few sentences.',
      inputSchema: DescribeImageInputSchema,
      outputSchema: DescribeImageOutputSchema,
      cache,
    },
    async ({ imageUrl }, { abortSignal }) => {
      await checkImageUrl(imageUrl, policy);
      const response = await ai.generate({
        prompt: [{ text: 'Describe this image in two or three sentences.' }, { media: { url: imageUrl } }],
        abortSignal,
      });
      return { description: response.text, imageUrl };
    },
  );
}
