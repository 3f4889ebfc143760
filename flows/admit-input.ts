import { GenkitError, z } from 'genkit';
import { validateSchema } from 'genkit/schema';
import { compiled, noteFlowCall } from './schema-validation-tier.js';
import { invalidInput, parseFlowInput } from './validated-flow.js';

/**
 * The one input check the protocol adapters run before a flow starts, so
 * that ours is the only validation that can reject a request:
 *
 * 1. Nesting depth is bounded (MAX_INPUT_DEPTH): Genkit's tracing
 *    JSON.stringify()s the input recursively and overflows the stack on a few
 *    thousand levels (a 500 with a RangeError), and Zod recursion on lazy
 *    schemas would too.
 * 2. Our Zod schema (defaults applied).
 * 3. Genkit's own JSON-schema check (the same validator `flow.run` uses:
 *    interpreted while the process is cold, ajv-compiled once it is hot, see
 *    schema-validation-tier.ts) on the parsed value. The two disagree at the edges:
 *    Zod's `.url()` accepts " https://x" and full-width digits that ajv's
 *    "uri" format refuses. Run here, a refusal gets our error shape (field
 *    paths, no schema, no echo of the input) instead of Genkit's, and
 *    Genkit's check inside `flow.run` can no longer fail.
 */

export const MAX_INPUT_DEPTH = 32;

export function admitFlowInput<I extends z.ZodTypeAny>(schema: I, input: unknown): z.infer<I> {
  if (nestsDeeperThan(input, MAX_INPUT_DEPTH)) {
    throw new GenkitError({
      status: 'INVALID_ARGUMENT',
      message: `Invalid input: data nests deeper than ${MAX_INPUT_DEPTH} levels.`,
      detail: { reason: 'INVALID_INPUT' },
    });
  }
  noteFlowCall();
  const parsed = parseFlowInput(schema, input);
  let verdict = validateSchema(parsed, { schema });
  // Refusals are worded by ajv whatever the tier (the interpreter's wording differs).
  if (!verdict.valid) verdict = compiled(() => validateSchema(parsed, { schema }));
  if (!verdict.valid) {
    throw invalidInput(
      new z.ZodError(verdict.errors.map((error) => ({ code: 'custom' as const, path: fieldPath(error.path), message: error.message }))),
      schema,
    );
  }
  return parsed;
}

/** Iterative (no recursion of its own), and stops at the first path that is too deep. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}

/** Genkit reports `a.b.0` (or `(root)`); Zod issues carry `['a', 'b', 0]`. */
function fieldPath(path: string): Array<string | number> {
  if (path === '(root)' || path === '') return [];
  return path.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}
