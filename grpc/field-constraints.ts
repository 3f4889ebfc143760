import { z } from 'genkit';
import { unwrapOnce } from './zod-wrappers.js';

/**
 * A field's default and limits, read from its Zod schema and worded for the
 * proto comment ("Default: \"Mittens\". At most 200 characters."), so a client
 * that only sees the proto (or reflection) knows what the server will accept.
 * Refinements (`.refine`, `.superRefine`) are code, not data: they are not listed.
 */
export function describeConstraints(schema: z.ZodTypeAny): string[] {
  const out: string[] = [];
  let current: z.ZodTypeAny = schema;
  for (let next = unwrapOnce(current); next; next = unwrapOnce(current)) {
    if (current instanceof z.ZodDefault) {
      out.push(`Default: ${JSON.stringify((current._def as { defaultValue: () => unknown }).defaultValue())}.`);
    }
    current = next;
  }
  if (current instanceof z.ZodString) out.push(...stringLimits(current));
  else if (current instanceof z.ZodNumber) out.push(...numberLimits(current));
  else if (current instanceof z.ZodArray) out.push(...arrayLimits(current));
  else if (current instanceof z.ZodLiteral) out.push(`Always ${JSON.stringify(current.value)}.`);
  return out;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

type StringCheck = { kind: string; value?: unknown; regex?: RegExp };

function stringLimits(schema: z.ZodString): string[] {
  const out: string[] = [];
  for (const check of schema._def.checks as StringCheck[]) {
    switch (check.kind) {
      case 'min':
        out.push(`At least ${plural(check.value as number, 'character')}.`);
        break;
      case 'max':
        out.push(`At most ${plural(check.value as number, 'character')}.`);
        break;
      case 'length':
        out.push(`Exactly ${plural(check.value as number, 'character')}.`);
        break;
      case 'regex':
        out.push(`Matches /${check.regex?.source ?? ''}/${check.regex?.flags ?? ''}.`);
        break;
      case 'startsWith':
      case 'endsWith':
      case 'includes':
        out.push(`${{ startsWith: 'Starts with', endsWith: 'Ends with', includes: 'Contains' }[check.kind]} ${JSON.stringify(check.value)}.`);
        break;
      case 'url':
        out.push('An absolute URL.');
        break;
      case 'trim':
      case 'toLowerCase':
      case 'toUpperCase':
        break;
      default:
        // email, uuid, datetime, ip, …: Zod's check name is the format.
        out.push(`A valid ${check.kind}.`);
    }
  }
  return out;
}

type NumberCheck = { kind: string; value?: number; inclusive?: boolean };

function numberLimits(schema: z.ZodNumber): string[] {
  const out: string[] = [];
  for (const check of schema._def.checks as NumberCheck[]) {
    if (check.kind === 'min') out.push(check.inclusive ? `At least ${check.value}.` : `Greater than ${check.value}.`);
    else if (check.kind === 'max') out.push(check.inclusive ? `At most ${check.value}.` : `Less than ${check.value}.`);
    else if (check.kind === 'multipleOf') out.push(`A multiple of ${check.value}.`);
  }
  return out;
}

function arrayLimits(schema: z.ZodArray<z.ZodTypeAny>): string[] {
  const { minLength, maxLength, exactLength } = schema._def;
  const out: string[] = [];
  if (exactLength) out.push(`Exactly ${plural(exactLength.value, 'item')}.`);
  if (minLength) out.push(`At least ${plural(minLength.value, 'item')}.`);
  if (maxLength) out.push(`At most ${plural(maxLength.value, 'item')}.`);
  return out;
}
