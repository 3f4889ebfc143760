import { hashString, humanize, pick, subjectOf } from './seeded-text.js';

/**
 * Turns what the offline model was asked into plausible, deterministic prose.
 * It reads the genre from the prompt (joke, story, code, answer), the persona
 * from the system prompt, and mentions tool results and media it was given.
 */

export interface ProseInput {
  system: string;
  prompt: string;
  /** One line per tool result, e.g. "getCurrentTime → 2025-01-01T00:00:00Z". */
  toolNotes: string[];
  /** URLs (or a short label for data: URLs) of media parts. */
  media: string[];
  seed: number;
}

export function composeProse(input: ProseInput): string {
  const subject = subjectOf(input.prompt);
  const paragraphs = paragraphCount(input.prompt);
  const body = Array.from({ length: paragraphs }, (_, i) => paragraph(genreOf(input.prompt), subject, input.seed, i));
  if (input.media.length > 0) body.unshift(`The image (${input.media.join(', ')}) ${pick(IMAGE_LINES, input.seed)}`);
  if (input.toolNotes.length > 0) body.push(`Checked with my tools: ${input.toolNotes.join('; ')}.`);
  return applyPersona(body.join('\n\n'), input.system, input.seed);
}

/** A field of a structured answer: one sentence about the subject, shaped by the field name. */
export function composeField(
  field: { name: string; path: string; description?: string },
  input: Pick<ProseInput, 'prompt' | 'system' | 'seed' | 'media' | 'toolNotes'>,
): string {
  const subject = subjectOf(input.prompt);
  const label = humanize(field.name);
  const line = pick(FIELD_LINES, input.seed, hashString(field.path))
    .replaceAll('{label}', label)
    .replaceAll('{subject}', subject);
  const media = input.media.length > 0 ? ` It shows ${input.media[0]}, ${pick(IMAGE_LINES, input.seed)}` : '';
  return applyPersona(capitalize(line) + media, input.system, input.seed, false);
}

type Genre = 'joke' | 'story' | 'code' | 'answer';

function genreOf(prompt: string): Genre {
  const lower = prompt.toLowerCase();
  if (/\b(?:joke|pun|funny)\b/.test(lower)) return 'joke';
  if (/\b(?:story|tale|paragraphs?)\b/.test(lower)) return 'story';
  if (/\b(?:code|function|program|script)\b/.test(lower)) return 'code';
  return 'answer';
}

const NUMBER_WORDS: Record<string, number> = { one: 1, two: 2, three: 3, four: 4, five: 5, six: 6 };

function paragraphCount(prompt: string): number {
  const match = /\b(\d+|one|two|three|four|five|six)\s+(?:short\s+)?paragraphs?\b/i.exec(prompt);
  if (!match?.[1]) return genreOf(prompt) === 'story' ? 3 : 1;
  const n = NUMBER_WORDS[match[1].toLowerCase()] ?? Number.parseInt(match[1], 10);
  return Math.min(Math.max(n, 1), 6);
}

const JOKES = [
  'Why did {s} sit on the keyboard? To keep an eye on the mouse.',
  'What does {s} call a pile of kittens? A meowtain.',
  '{S} tried to tell a joke about UDP, but was not sure anyone got it.',
  'Why was {s} so good at video games? Nine lives and excellent paws-itioning.',
];
const STORY = [
  [
    'Once upon a time, {s} lived at the edge of a quiet town where nothing much ever happened.',
    'In a village by the sea, {s} woke before dawn with the feeling that today would be different.',
  ],
  [
    'One evening a strange light appeared over the hills, and {s} set off to find where it came from.',
    'When a storm cut the town off from the world, {s} was the only one brave enough to go for help.',
  ],
  [
    'By morning {s} had come home, tired and proud, with a story that the town would tell for years.',
    'In the end {s} learned that courage is simply doing the next right thing, one step at a time.',
  ],
];
const CODE = [
  'Here is a small, well-named function for {s}, with the edge cases handled first.',
  'A straightforward approach to {s}: validate the input, do the work, return a clear result.',
];
const ANSWERS = [
  'Good question about {s}. The short answer is that it depends on what you need, so start simple and measure.',
  'On {s}: pick the option your team knows best, keep it readable, and revisit it when the facts change.',
  'Thinking about {s}, the most useful step is to state the goal clearly and work backwards from it.',
];
const IMAGE_LINES = [
  'shows a simple scene with a clear subject in the centre and a plain background.',
  'contains a small graphic with a few shapes and high contrast colours.',
];
const FIELD_LINES = [
  '{label} for {subject}: clear, concise and grounded in the request.',
  'the {label} of {subject}, written to be useful at a glance.',
  '{label} about {subject}, kept short and specific.',
];

function paragraph(genre: Genre, subject: string, seed: number, index: number): string {
  const fill = (s: string) => s.replaceAll('{S}', capitalize(subject)).replaceAll('{s}', subject);
  switch (genre) {
    case 'joke':
      return fill(pick(JOKES, seed, index));
    case 'story':
      return fill(pick(STORY[Math.min(index, STORY.length - 1)] ?? STORY[0]!, seed, index));
    case 'code':
      return fill(pick(CODE, seed, index));
    case 'answer':
      return fill(pick(ANSWERS, seed, index));
  }
}

/**
 * Honours the system prompt: a pirate persona speaks like one; any other
 * "You are …" persona is named up front.
 */
function applyPersona(text: string, system: string, seed: number, greet = true): string {
  if (!system.trim()) return text;
  if (/pirate/i.test(system)) {
    const pirated = text
      .replace(/\byou\b/gi, 'ye')
      .replace(/\byour\b/gi, 'yer')
      .replace(/\bmy\b/gi, 'me')
      .replace(/\bis\b/g, 'be');
    if (!greet) return `Arr, ${pirated.charAt(0).toLowerCase()}${pirated.slice(1)}`;
    return `${pick(['Arr, matey!', 'Ahoy there!', 'Yo ho ho!'], seed)} ${pirated} Savvy?`;
  }
  const persona = /\byou are (an? [^.,;\n]{1,60}|the [^.,;\n]{1,60})/i.exec(system)?.[1];
  return persona && greet ? `Speaking as ${persona}: ${text}` : text;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
