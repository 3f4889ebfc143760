/**
 * One valid input per flow, and the inputs that exercise each flow's documented
 * defaults. Shared by the REST, parity (and later gRPC) suites.
 */
export const VALID_INPUTS: Record<string, unknown> = {
  tellJoke: { name: 'Ada', username: 'ada' },
  tellStory: { topic: 'a lighthouse keeper' },
  translateText: { text: '  Good morning, friends.  ', targetLanguage: 'Spanish' },
  describeImage: { imageUrl: 'https://example.com/cat.png' },
  generateCharacter: { name: 'Orion' },
  pirateChat: { question: 'How do I learn TypeScript?' },
  generateCode: { description: 'reverse a string', language: 'typescript' },
  reviewCode: { code: 'function add(a, b) {\n  return a + b\n}\n', language: 'javascript' },
};

/** `{}` for every flow whose fields all have defaults; the required fields otherwise. */
export const DEFAULTS_INPUTS: Record<string, unknown> = {
  tellJoke: {},
  tellStory: {},
  translateText: {},
  describeImage: {},
  generateCharacter: {},
  pirateChat: {},
  generateCode: { description: 'reverse a string' },
  reviewCode: { code: 'print("hi")' },
};

export const STREAMING_FLOWS = ['tellJoke', 'tellStory'] as const;
