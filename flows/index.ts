import type { Action, Genkit, z } from 'genkit';
import type { FlowCache } from '../server/response-cache.js';
import { defineDescribeImage } from './describe-image.js';
import { defineGenerateCharacter } from './generate-character.js';
import { defineGenerateCode } from './generate-code.js';
import { defineGetCurrentTime } from './get-current-time.js';
import { definePirateChat } from './pirate-chat.js';
import { defineReviewCode } from './review-code.js';
import { defineTellJoke } from './tell-joke.js';
import { defineTellStory } from './tell-story.js';
import { defineTranslateText } from './translate-text.js';

/**
 * The one list of flows. REST routes, gRPC handlers, the proto and the docs
 * are all derived from what this returns; adding a flow here (and running
 * `npm run gen`) is all it takes to serve it everywhere.
 */
export interface FlowOptions {
  /** describeImage accepts http: image URLs (debug only). */
  allowHttpImages: boolean;
  /** describeImage's limit for data: URLs, in bytes. */
  maxDataUrlBytes: number;
  /** Response cache for the idempotent flows (never tellJoke, pirateChat, tellStory); null: off. */
  cache: FlowCache | null;
}

const DEFAULT_OPTIONS: FlowOptions = { allowHttpImages: false, maxDataUrlBytes: 1048576, cache: null };

export function defineFlows(ai: Genkit, options: FlowOptions = DEFAULT_OPTIONS): readonly AnyFlow[] {
  const getCurrentTime = defineGetCurrentTime(ai);
  return [
    defineTellJoke(ai),
    defineTellStory(ai),
    defineTranslateText(ai, { getCurrentTime: getCurrentTime.__action.name }, options.cache),
    defineDescribeImage(ai, { allowHttp: options.allowHttpImages, maxDataUrlBytes: options.maxDataUrlBytes }, options.cache),
    defineGenerateCharacter(ai, options.cache),
    definePirateChat(ai),
    defineGenerateCode(ai, options.cache),
    defineReviewCode(ai, options.cache),
  ] as const;
}

/** A flow of any schema, as the generic surfaces (REST, gRPC, codegen) see it. */
export type AnyFlow = Action<z.ZodTypeAny, z.ZodTypeAny, z.ZodTypeAny>;
