import { GenkitError, type GenerateRequest, type GenerateResponseData, type MessageData, type Part } from 'genkit';
import type { ModelInfo } from 'genkit/model';
import { genkitPluginV2, model, type GenkitPluginV2Instance } from 'genkit/plugin';
import { composeField, composeProse, type ProseInput } from './compose-prose.js';
import { instanceFromSchema } from './instance-from-schema.js';
import { chunkText, seedOf } from './seeded-text.js';

/**
 * The offline model: a real Genkit model plugin that needs no network and no
 * key. It is the embedded default so the project runs anywhere; it is
 * deterministic (same request → same response) and honours system prompts,
 * tools (requests one once, then uses its result), output schemas (returns
 * JSON valid against them), streaming (several chunks) and media parts.
 */

export const OFFLINE_PLUGIN_NAME = 'offline';
export const OFFLINE_MODEL_NAME = `${OFFLINE_PLUGIN_NAME}/deterministic`;

/** What the offline model supports (also what the resilient wrapper advertises for it). */
export const OFFLINE_MODEL_INFO = {
  label: 'Offline deterministic model (no network; for trying the project without a Gemini key)',
  supports: {
    multiturn: true,
    systemRole: true,
    media: true,
    tools: true,
    toolChoice: true,
    output: ['text', 'json'],
    constrained: 'all',
  },
} satisfies ModelInfo;

export interface OfflineModelOptions {
  /** Delay before each streamed chunk (and once for a non-streaming call), to imitate a slow upstream. */
  latencyMs?: number;
}

export function offlineModelPlugin(options: OfflineModelOptions = {}): GenkitPluginV2Instance {
  const latencyMs = options.latencyMs ?? 0;
  return genkitPluginV2({
    name: OFFLINE_PLUGIN_NAME,
    init: () => [
      model(
        { name: OFFLINE_MODEL_NAME, ...OFFLINE_MODEL_INFO },
        async (request, { streamingRequested, sendChunk, abortSignal }) => {
          const response = respond(request);
          const text = textOf(response.message?.content ?? []);
          if (streamingRequested && text) {
            for (const chunk of chunkText(text)) {
              await pause(latencyMs, abortSignal);
              sendChunk({ index: 0, role: 'model', content: [{ text: chunk }] });
            }
          } else {
            await pause(latencyMs, abortSignal);
          }
          return response;
        },
      ),
    ],
  });
}

/** Computes the whole response up front; streaming only slices its text. */
export function respond(request: GenerateRequest): GenerateResponseData {
  const conversation = readConversation(request.messages);
  const seed = seedOf(conversation.system, conversation.prompt, ...conversation.media);

  const tool = request.tools?.[0];
  if (tool && conversation.toolNotes.length === 0) {
    const input = instanceFromSchema(tool.inputSchema ?? {}, {
      seed,
      describe: () => conversation.prompt.slice(0, 80),
    });
    return modelMessage([{ toolRequest: { name: tool.name, ref: '0', input } }]);
  }

  const prose: ProseInput = { ...conversation, seed };
  const wantsJson = request.output?.format === 'json' || request.output?.schema !== undefined;
  if (wantsJson) {
    const value = instanceFromSchema(request.output?.schema ?? { type: 'object' }, {
      seed,
      describe: (field) => composeField(field, prose),
    });
    return modelMessage([{ text: JSON.stringify(value) }]);
  }
  return modelMessage([{ text: composeProse(prose) }]);
}

interface Conversation {
  system: string;
  prompt: string;
  media: string[];
  toolNotes: string[];
}

function readConversation(messages: MessageData[]): Conversation {
  const system = messages.filter((m) => m.role === 'system').map((m) => textOf(m.content)).join('\n');
  const users = messages.filter((m) => m.role === 'user');
  const prompt = textOf(users.at(-1)?.content ?? []);
  const media = users.flatMap((m) => m.content.flatMap((p) => (p.media ? [mediaLabel(p.media.url, p.media.contentType)] : [])));
  const toolNotes = messages
    .filter((m) => m.role === 'tool')
    .flatMap((m) => m.content.flatMap((p) => (p.toolResponse ? [`${p.toolResponse.name} → ${stringify(p.toolResponse.output)}`] : [])));
  return { system, prompt, media, toolNotes };
}

function mediaLabel(url: string, contentType?: string): string {
  const type = contentType ?? /^data:([^;,]+)/.exec(url)?.[1] ?? 'image';
  return url.startsWith('data:') ? `inline ${type}` : `${url} (${type})`;
}

function textOf(parts: Part[]): string {
  return parts.map((p) => p.text ?? '').join('');
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json;
}

function modelMessage(content: Part[]): GenerateResponseData {
  return { message: { role: 'model', content }, finishReason: 'stop' };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(cancelled());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function cancelled(): GenkitError {
  return new GenkitError({ status: 'CANCELLED', message: 'The offline model call was cancelled.' });
}
