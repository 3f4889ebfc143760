import { googleAI } from '@genkit-ai/google-genai';
import { genkit, type Genkit } from 'genkit';
import { fileURLToPath } from 'node:url';
import { OFFLINE_MODEL_NAME, offlineModelPlugin } from './models/offline/offline-model.js';

/**
 * Creates the one Genkit instance of a process: the model plugin, the default
 * model and the Dotprompt folder. Callers pass a parsed `ModelSettings`
 * (see server/config.ts); this module never reads the environment itself.
 */

export type ModelSettings =
  | {
      kind: 'gemini';
      /** Gemini API key (GEMINI_API_KEY or GOOGLE_API_KEY). Never logged. */
      apiKey: string;
      /** Fully qualified model name, e.g. googleai/gemini-2.5-flash. */
      model: string;
      /** Overrides the Gemini endpoint (gateways, proxies, tests). */
      baseUrl?: string;
    }
  | {
      kind: 'offline';
      /** Per-chunk delay of the offline model, to imitate a slow upstream. */
      latencyMs: number;
    };

export const PROMPT_DIR = fileURLToPath(new URL('./prompts', import.meta.url));

export interface GenkitApp {
  ai: Genkit;
  /** The default model every flow uses. */
  modelName: string;
  /** Why this model was chosen, for the start-up log and /health. */
  modelReason: string;
}

export function createGenkit(settings: ModelSettings): GenkitApp {
  if (settings.kind === 'gemini') {
    const ai = genkit({
      plugins: [googleAI({ apiKey: settings.apiKey, ...(settings.baseUrl ? { baseUrl: settings.baseUrl } : {}) })],
      model: settings.model,
      promptDir: PROMPT_DIR,
    });
    return { ai, modelName: settings.model, modelReason: 'a Gemini API key is set' };
  }
  const ai = genkit({
    plugins: [offlineModelPlugin({ latencyMs: settings.latencyMs })],
    model: OFFLINE_MODEL_NAME,
    promptDir: PROMPT_DIR,
  });
  return {
    ai,
    modelName: OFFLINE_MODEL_NAME,
    modelReason: 'no GEMINI_API_KEY or GOOGLE_API_KEY is set, so the built-in offline model answers (deterministic, no network)',
  };
}
