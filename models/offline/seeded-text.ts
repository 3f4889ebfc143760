import { createHash } from 'node:crypto';

/**
 * Deterministic building blocks for the offline model: a stable hash of the
 * prompt drives every choice, so the same request always yields the same text.
 */

/** A 32-bit unsigned seed derived from any number of strings. */
export function seedOf(...parts: string[]): number {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return digest.readUInt32BE(0);
}

/** Picks an element deterministically; `salt` lets callers vary picks under one seed. */
export function pick<T>(items: readonly T[], seed: number, salt = 0): T {
  if (items.length === 0) throw new Error('pick() needs at least one item');
  const mixed = Math.imul(seed ^ (salt * 0x9e3779b1), 0x85ebca6b) >>> 0;
  return items[mixed % items.length] as T;
}

/** A 32-bit hash of a short string (FNV-1a), to vary choices by field path. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Splits camelCase / snake_case field names into words ("backStory" → "back story"). */
export function humanize(fieldName: string): string {
  return fieldName
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase()
    .trim();
}

/** Cuts text to at most `max` characters, preferring a word boundary. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return (space > max / 2 ? cut.slice(0, space) : cut).trimEnd();
}

const STOP_WORDS = new Set(
  (
    'a an the and or but of to in on at for with about from by as is are be this that these those it its ' +
    'me my you your we our please tell write give generate create make short brief following text into ' +
    'using should must return json answer question what which who how why describe'
  ).split(' '),
);

/**
 * The subject of a prompt: a quoted phrase when there is one, else the first
 * few content words. Used so generated text talks about what was asked.
 */
export function subjectOf(prompt: string): string {
  const named = /\b(?:about|named|called|regarding)\s+["“]?([^"”.,;:!?\n]{1,60}?)["”]?(?=\s+(?:in|with|for|and)\b|[.,;:!?\n]|$)/i.exec(prompt);
  if (named?.[1]) return named[1].trim();
  const quoted = /["“]([^"”]{1,2000})["”]/.exec(prompt);
  if (quoted?.[1]) return truncate(quoted[1].trim(), 60);
  const words = prompt
    .replace(/[^\p{L}\p{N}#+' -]+/gu, ' ')
    .split(/\s+/)
    .filter((w) => w && !STOP_WORDS.has(w.toLowerCase()));
  return words.slice(0, 4).join(' ') || 'the request';
}

/** Splits text into at least `min` chunks at word boundaries, for streaming. */
export function chunkText(text: string, wordsPerChunk = 4, min = 2): string[] {
  const tokens = text.match(/\S+\s*|\s+/g) ?? [text];
  const per = Math.max(1, Math.min(wordsPerChunk, Math.floor(tokens.length / min) || 1));
  const chunks: string[] = [];
  for (let i = 0; i < tokens.length; i += per) chunks.push(tokens.slice(i, i + per).join(''));
  return chunks.length > 0 ? chunks : [text];
}
