import { GenkitError, z, type Genkit } from 'genkit';
import type { FlowConfig, FlowFn, FlowSideChannel } from 'genkit';
import { logger } from 'genkit/logging';
import { jsonFieldPath } from '../server/error-details.js';
import type { CacheOutcome, FlowCache } from '../server/response-cache.js';

/**
 * Every flow is defined through `defineValidatedFlow`, so that schema defaults
 * and Zod refinements apply on every surface. Genkit 1.42's `flow.run` only
 * checks input against the JSON schema and hands the raw value on (no Zod
 * defaults), while `flow.stream` parses with Zod; parsing again inside the
 * flow makes `{}` mean the documented defaults for REST, gRPC, streaming and
 * the reflection API alike. Parsing is idempotent for our schemas (defaults,
 * bounds, patterns; no transforms), so a second parse changes nothing.
 */
export function defineValidatedFlow<I extends z.ZodTypeAny, O extends z.ZodTypeAny, S extends z.ZodTypeAny = z.ZodTypeAny>(
  ai: Genkit,
  config: FlowConfig<I, O, S> & {
    inputSchema: I;
    outputSchema: O;
    description: string;
    /** Idempotent flows pass the response cache: equal inputs (after defaults) share one result. */
    cache?: FlowCache | null;
  },
  fn: FlowFn<I, O, S>,
) {
  const { description, cache, ...flowConfig } = config;
  const flow = ai.defineFlow({ ...flowConfig, metadata: { ...flowConfig.metadata, description } }, async (raw, shared) => {
    const sideChannel = snapshot(shared);
    const input = parseFlowInput(config.inputSchema, raw);
    if (!cache) return checkFlowOutput(config, await fn(input, sideChannel));
    const { value, outcome } = await cache.getOrCompute(config.name, input, sideChannel.abortSignal, async (signal) =>
      // The shared computation has its own signal: it stops only when every waiting caller has gone.
      checkFlowOutput(config, await fn(input, Object.assign(snapshot(sideChannel), { abortSignal: signal }))),
    );
    reportCacheOutcome(sideChannel.context, outcome);
    return value;
  });
  // Genkit 1.42's FlowConfig has no description; the action metadata does, and
  // the Dev UI, the proto comments and the API docs read it from there.
  flow.__action.description = description;
  return flow;
}

/**
 * A per-call copy of the flow's side channel. Genkit 1.42 hangs `context`,
 * `abortSignal`, … on the `sendChunk` function it passes in, and for
 * non-streaming calls that is one shared no-op function: concurrent calls
 * overwrite each other's properties, so after the first `await` a flow would
 * see another call's context and abort signal. Copying them at entry (before
 * any await) keeps each call's own.
 */
function snapshot<S>(shared: FlowSideChannel<S>): FlowSideChannel<S> {
  const send = shared.sendChunk;
  return Object.assign((chunk: S) => send(chunk), shared, { sendChunk: send });
}

/** Adapters give each call a `response` slot in its context; the cache outcome goes there (X-Cache, logs). */
function reportCacheOutcome(context: unknown, outcome: CacheOutcome): void {
  const slot = (context as { response?: { cache?: CacheOutcome } } | undefined)?.response;
  if (slot) slot.cache = outcome;
}

/**
 * Parses flow input with its Zod schema (defaults applied) or throws
 * INVALID_ARGUMENT naming each offending field. Shared by the flows and by
 * the protocol adapters, which check input before a response starts.
 */
export function parseFlowInput<I extends z.ZodTypeAny>(schema: I, input: unknown): z.infer<I> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw invalidInput(parsed.error, schema);
}

/**
 * A result that breaks the output schema is our fault (or the model's), never
 * the caller's: Genkit would report it as INVALID_ARGUMENT with the whole
 * schema in the message, so we report INTERNAL and keep the detail for logs.
 */
function checkFlowOutput<O extends z.ZodTypeAny>(config: { name: string; outputSchema: O }, output: unknown): z.infer<O> {
  const parsed = config.outputSchema.safeParse(output);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'result'}: ${issue.message}`);
  logger.warn(`Flow ${config.name} produced output that breaks its schema: ${problems.join('; ')}`);
  throw new GenkitError({ status: 'INTERNAL', message: `Flow ${config.name} produced an invalid result.` });
}

/** INVALID_ARGUMENT naming every offending field (message, `fields`, and AIP-193 field violations; see server/error-details.ts). */
export function invalidInput(error: z.ZodError, schema?: z.ZodTypeAny): GenkitError {
  const problems = error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'data'}: ${issue.message}`);
  return new GenkitError({
    status: 'INVALID_ARGUMENT',
    message: `Invalid input: ${problems.join('; ')}`,
    detail: {
      reason: 'INVALID_INPUT',
      fields: error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      badRequest: { fieldViolations: error.issues.map((issue) => ({ field: jsonFieldPath(issue.path, schema), description: issue.message })) },
    },
  });
}
