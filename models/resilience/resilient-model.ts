import type { Genkit } from 'genkit';
import type { ModelInfo } from 'genkit/model';
import type { ModelPolicies } from './model-policies.js';
import { classify } from './upstream-errors.js';

/**
 * Wraps the real model (Gemini or the offline model) in a model of its own,
 * `resilient/<model>`, that runs every call through the policies: circuit
 * breaker → retry → per-attempt timeout. It is the default model, so every
 * model call of every flow (streaming ones included) goes through this one
 * place, and Genkit traces show it as a model span around the real one.
 */

export const RESILIENT_PREFIX = 'resilient';

export function resilientModelName(target: string): string {
  return `${RESILIENT_PREFIX}/${target}`;
}

export function defineResilientModel(ai: Genkit, target: { name: string; info?: ModelInfo }, policies: ModelPolicies): string {
  const name = resilientModelName(target.name);
  ai.defineModel(
    {
      apiVersion: 'v2',
      name,
      label: `${target.info?.label ?? target.name} (circuit breaker, retries, timeout)`,
      supports: target.info?.supports,
    },
    async (request, { streamingRequested, sendChunk, abortSignal }) => {
      const model = await ai.registry.lookupAction(`/model/${target.name}`);
      if (!model) throw new Error(`Model ${target.name} is not registered`);
      return policies.execute(async ({ signal }) => {
        let streamed = false;
        // google-genai 1.42 ignores a signal that is already aborted and sends the request anyway.
        if (signal.aborted) throw classify(signal.reason, { caller: abortSignal, attempt: signal, streamed });
        try {
          const { result } = await model.run(request, {
            abortSignal: signal,
            ...(streamingRequested
              ? {
                  onChunk: (chunk: unknown) => {
                    streamed = true;
                    sendChunk(chunk as Parameters<typeof sendChunk>[0]);
                  },
                }
              : {}),
          });
          return result;
        } catch (e: unknown) {
          throw classify(e, { caller: abortSignal, attempt: signal, streamed });
        }
      }, abortSignal);
    },
  );
  return name;
}
