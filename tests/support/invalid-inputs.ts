/** Every documented input constraint, as data: flow, input, the field the error must name. */
export interface InvalidInput {
  flow: string;
  data: unknown;
  /** The field the error must name. */
  field: string;
  why: string;
  /** Not expressible as a protobuf message (wrong JSON type), so REST only. */
  restOnly?: true;
}

export const INVALID_INPUTS: InvalidInput[] = [
  { flow: 'tellJoke', data: { name: 'x'.repeat(201) }, field: 'name', why: 'a 201-char name' },
  { flow: 'tellJoke', data: { name: 42 }, field: 'name', why: 'a number for name', restOnly: true },
  { flow: 'tellJoke', data: { username: 'u'.repeat(201) }, field: 'username', why: 'a 201-char username' },
  { flow: 'tellStory', data: { topic: '' }, field: 'topic', why: 'an empty topic' },
  { flow: 'tellStory', data: { topic: 't'.repeat(1001) }, field: 'topic', why: 'a 1001-char topic' },
  { flow: 'translateText', data: { text: '' }, field: 'text', why: 'empty text' },
  { flow: 'translateText', data: { text: 't'.repeat(10001) }, field: 'text', why: '10001 chars of text' },
  { flow: 'translateText', data: { targetLanguage: 'l'.repeat(101) }, field: 'targetLanguage', why: 'a 101-char language' },
  { flow: 'describeImage', data: { imageUrl: 'not a url' }, field: 'imageUrl', why: 'a non-URL' },
  { flow: 'describeImage', data: { imageUrl: `https://example.com/${'a'.repeat(2040)}` }, field: 'imageUrl', why: 'a 2060-char URL' },
  { flow: 'generateCharacter', data: { name: '' }, field: 'name', why: 'an empty name' },
  { flow: 'generateCharacter', data: { name: 'n'.repeat(201) }, field: 'name', why: 'a 201-char name' },
  { flow: 'pirateChat', data: { question: '' }, field: 'question', why: 'an empty question' },
  { flow: 'pirateChat', data: { question: 'q'.repeat(5001) }, field: 'question', why: 'a 5001-char question' },
  { flow: 'generateCode', data: {}, field: 'description', why: 'a missing description' },
  { flow: 'generateCode', data: { description: 'd'.repeat(10001) }, field: 'description', why: 'a 10001-char description' },
  { flow: 'generateCode', data: { description: 'x', language: 'py thon' }, field: 'language', why: 'a language with a space' },
  { flow: 'generateCode', data: { description: 'x', language: 'rust!' }, field: 'language', why: 'a language with "!"' },
  { flow: 'generateCode', data: { description: 'x', language: 'a'.repeat(51) }, field: 'language', why: 'a 51-char language' },
  { flow: 'reviewCode', data: {}, field: 'code', why: 'missing code' },
  { flow: 'reviewCode', data: { code: '' }, field: 'code', why: 'empty code' },
  { flow: 'reviewCode', data: { code: 'c'.repeat(50001) }, field: 'code', why: '50001 chars of code' },
  { flow: 'reviewCode', data: { code: 'x', language: 'l'.repeat(51) }, field: 'language', why: 'a 51-char language' },
  { flow: 'tellJoke', data: 'Mittens', field: 'data', why: 'a string instead of an object', restOnly: true },
];

