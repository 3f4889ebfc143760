import type * as GeminiPlugin from '@genkit-ai/google-genai';
import { genkit, type Genkit } from 'genkit';
import { join } from 'node:path';
import { APP_ROOT } from './app-root.js';
import { OFFLINE_MODEL_INFO, OFFLINE_MODEL_NAME, offlineModelPlugin } from './models/offline/offline-model.js';
import { createModelPolicies, type ModelPolicies, type ResilienceSettings } from './models/resilience/model-policies.js';
import { defineResilientModel, resilientModelName } from './models/resilience/resilient-model.js';

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

/** Dotprompt files; found from the project directory, so the same in source and in dist/. */
export const PROMPT_DIR = join(APP_ROOT, 'prompts');

/** Defaults of LLM_TIMEOUT_MS, LLM_MAX_RETRIES, CB_* (see server/config.ts). */
export const DEFAULT_RESILIENCE: ResilienceSettings = {
  timeoutMs: 120_000,
  maxRetries: 2,
  retryBaseDelayMs: 250,
  breaker: { enabled: true, failureThreshold: 5, recoveryTimeoutMs: 30_000 },
};

export interface GenkitApp {
  ai: Genkit;
  /** The model that answers (the flows call it through `resilient/<modelName>`). */
  modelName: string;
  /** Breaker, retries and timeout around every call of that model. */
  policies: ModelPolicies;
  /** Why this model was chosen, for the start-up log and /health. */
  modelReason: string;
}

/**
 * createGenkit, with the Gemini plugin imported only when the settings select
 * Gemini: offline, its module graph (google-auth-library, gaxios, …) would
 * only cost start-up time and memory. The server starts through this.
 */
export async function loadGenkit(settings: ModelSettings, resilience: ResilienceSettings = DEFAULT_RESILIENCE): Promise<GenkitApp> {
  const gemini = settings.kind === 'gemini' ? await import('@genkit-ai/google-genai') : undefined;
  return createGenkit(settings, resilience, gemini);
}

/** Synchronous form: Gemini settings need the plugin module (`loadGenkit` imports it). */
export function createGenkit(settings: ModelSettings, resilience: ResilienceSettings = DEFAULT_RESILIENCE, gemini?: typeof GeminiPlugin): GenkitApp {
  const policies = createModelPolicies(resilience);
  if (settings.kind === 'gemini') {
    if (!gemini) throw new Error('Gemini settings need the @genkit-ai/google-genai module: use loadGenkit()');
    const { googleAI } = gemini;
    const ai = genkit({
      plugins: [googleAI({ apiKey: settings.apiKey, ...(settings.baseUrl ? { baseUrl: settings.baseUrl } : {}) })],
      model: resilientModelName(settings.model),
      promptDir: PROMPT_DIR,
    });
    const info = googleAI.model(settings.model.replace(/^googleai\//, '')).info;
    defineResilientModel(ai, { name: settings.model, ...(info ? { info } : {}) }, policies);
    return { ai, modelName: settings.model, policies, modelReason: 'a Gemini API key is set' };
  }
  const ai = genkit({
    plugins: [offlineModelPlugin({ latencyMs: settings.latencyMs })],
    model: resilientModelName(OFFLINE_MODEL_NAME),
    promptDir: PROMPT_DIR,
  });
  defineResilientModel(ai, { name: OFFLINE_MODEL_NAME, info: OFFLINE_MODEL_INFO }, policies);
  return {
    ai,
    modelName: OFFLINE_MODEL_NAME,
    policies,
    modelReason: 'no GEMINI_API_KEY or GOOGLE_API_KEY is set, so the built-in offline model answers (deterministic, no network)',
  };
}
