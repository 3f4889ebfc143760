import type { StatusName } from 'genkit';

/**
 * `@genkit-ai/express` 1.42 logs every failed call at error level, with the
 * stack, whatever the status: "Non-streaming request failed with error:
 * ${e.message}\n${e.stack}" (also "Streaming request …" and "Auth policy
 * …"). A GenkitError's message starts with its status name, so the line says
 * whether the caller was at fault. Client faults (4xx) are not server errors:
 * they keep their first line only (no stack, no multi-line schema dump),
 * shortened, at info; the access line already records the status at warn.
 * Server faults stay at error with the stack.
 */

const REQUEST_FAILED = /^((?:Non-streaming request|Streaming request|Auth policy) failed with error: )([A-Z_]+): /;

const CLIENT_FAULTS = new Set<StatusName>([
  'CANCELLED',
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'UNAUTHENTICATED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
]);

const MAX_CLIENT_FAULT_CHARS = 300;

export interface GenkitLogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  status?: string;
}

/**
 * Genkit warns whenever its JSON-schema mode is set to 'interpret', which we do
 * on purpose at start (flows/schema-validation-tier.ts); the package it asks
 * for is installed, so the line is only worth a debug entry.
 */
const INTERPRET_MODE_WARNING = "It looks like you're trying to disable schema code generation";

export function classifyGenkitLine(level: GenkitLogLine['level'], message: string): GenkitLogLine {
  if (level === 'warn' && message.startsWith(INTERPRET_MODE_WARNING)) return { level: 'debug', message };
  if (level !== 'error') return { level, message };
  const match = REQUEST_FAILED.exec(message);
  if (!match || !CLIENT_FAULTS.has(match[2] as StatusName)) return { level, message };
  const firstLine = message.split('\n', 1)[0]!;
  const short = firstLine.length > MAX_CLIENT_FAULT_CHARS ? `${firstLine.slice(0, MAX_CLIENT_FAULT_CHARS)}…` : firstLine;
  return { level: 'info', message: short, status: match[2] };
}
