import { setGenkitRuntimeConfig, type Genkit } from 'genkit';
import { validateSchema } from 'genkit/schema';
import { format } from 'node:util';

/**
 * Genkit checks every action's input and output against its JSON schema. By
 * default ('compile') ajv generates a validator the first time each schema is
 * used, and the first model call pays for the largest ones: the model's
 * GenerateRequest and GenerateResponse schemas take ≈45 and ≈60 ms to compile,
 * so a freshly started server answered its first flow call ≈130 ms late
 * (measured with a timing wrapper around ajv's compile; see README, Cold start).
 *
 * So a process starts with Genkit's other mode, 'interpret'
 * (@cfworker/json-schema: no code generation; the same `uri` pattern as
 * ajv-formats), and moves to compiled validators once it is hot, the way a JIT
 * tiers up: after HOT_CALLS flow calls it compiles every schema of
 * every registered action in the background, one schema per macrotask so calls
 * in flight keep being served between them, and then switches Genkit to
 * 'compile' for good. An idle or lightly used server never pays for code it
 * does not need; a loaded one runs on ajv (interpreting costs ≈30% of REST
 * throughput, so staying interpreted is not an option).
 *
 * Our admission check (flows/admit-input.ts) runs Genkit's validator of the
 * moment, so Genkit's own check inside `flow.run` agrees with it in either
 * tier; the two validators agree on what our schemas use (types, bounds,
 * `pattern`, the same `uri` pattern), and a refusal is worded by ajv in both
 * tiers (`compiled`), which tests/schema-validation-tier.test.ts checks.
 * Genkit's setting is process-wide (a global), so this state is too.
 */

/** Flow calls (REST and gRPC, refused ones included) after which the process compiles its validators. */
export const HOT_CALLS = 32;

type Tier = 'compile' | 'interpret' | 'tiering-up';

let tier: Tier = 'compile';
let flowCalls = 0;
const apps = new Set<Genkit>();
let tieredUp: Promise<void> | null = null;
/** Where ajv's compile-time warnings go (the server's logger); unset, they stay on console.warn. */
let ajvWarning: ((line: string) => void) | null = null;

/**
 * Called once per server start: the first start switches Genkit to
 * 'interpret'; every start registers its Genkit app for the tier-up. A server
 * started after the tier-up simply compiles new schemas on first use, which is
 * Genkit's default.
 */
export function startInterpreted(ai: Genkit, onAjvWarning?: (line: string) => void): void {
  apps.add(ai);
  if (onAjvWarning) ajvWarning = onAjvWarning;
  if (tier === 'compile' && tieredUp === null) {
    tier = 'interpret';
    // Genkit 1.42 warns here that @cfworker/json-schema must be installed. It is (an optional
    // dependency of @genkit-ai/core, which imports it unconditionally); server/genkit-request-failures.ts
    // turns that one line into a debug line.
    setGenkitRuntimeConfig({ jsonSchemaMode: 'interpret' });
  }
}

/** Counts a flow call reaching admission (refused ones too); the HOT_CALLS-th one starts the tier-up. */
export function noteFlowCall(): void {
  if (tier !== 'interpret') return;
  flowCalls += 1;
  if (flowCalls >= HOT_CALLS) void tierUp();
}

/**
 * Runs `check` with Genkit's compiled (ajv) validators whatever the tier. The
 * admission check uses it to word a refusal: the interpreter agrees with ajv
 * on what is valid but words its errors differently (and adds a line per
 * enclosing object), and a refusal must read the same in either tier.
 */
export function compiled<T>(check: () => T): T {
  if (tier === 'compile') return routingAjvWarnings(check);
  setGenkitRuntimeConfig({ jsonSchemaMode: 'compile' });
  try {
    return routingAjvWarnings(check);
  } finally {
    setGenkitRuntimeConfig({ jsonSchemaMode: 'interpret' });
  }
}

/**
 * Genkit 1.42's ajv instance is private and keeps ajv's default logger, the
 * console: compiling the model's GenerateRequest schema prints `strict mode:
 * use allowUnionTypes …` raw on stderr, outside the JSON logs. ajv warns
 * synchronously inside compile, and every compile of ours runs in `check`
 * here (the tier-up precompiles every schema before Genkit leaves
 * 'interpret'), so console.warn is pointed at the logger for exactly that
 * synchronous call and restored after it.
 */
function routingAjvWarnings<T>(check: () => T): T {
  const route = ajvWarning;
  if (!route) return check();
  const warn = console.warn;
  console.warn = (...args: unknown[]) => route(format(...args));
  try {
    return check();
  } finally {
    console.warn = warn;
  }
}

/** The current tier, for diagnostics and tests. */
export function validationTier(): Tier {
  return tier;
}

/**
 * Compiles every registered action's schemas, one per macrotask, and then
 * switches Genkit to 'compile'. Calls served meanwhile stay interpreted: had
 * Genkit switched first, the calls of the burst that made the process hot
 * would each have compiled the schemas they needed inline, the model's large
 * GenerateRequest/GenerateResponse ones included, stalling the event loop
 * while that burst was arriving (a CPU profile of 1000 streams arriving at
 * once on a fresh server showed it). Idempotent.
 */
export function tierUp(): Promise<void> {
  if (tier === 'compile') return Promise.resolve();
  tieredUp ??= (async () => {
    tier = 'tiering-up';
    // Listing the actions cannot fail in practice; if it did, schemas would compile on first use.
    await precompile().catch(() => undefined);
    setGenkitRuntimeConfig({ jsonSchemaMode: 'compile' });
    tier = 'compile';
  })();
  return tieredUp;
}

/** Compiles every registered action's schemas, one per macrotask (Genkit itself stays interpreted meanwhile). */
async function precompile(): Promise<void> {
  for (const ai of apps) {
    const actions = await ai.registry.listActions();
    for (const action of Object.values(actions)) {
      const meta = action.__action;
      for (const [schema, jsonSchema] of [
        [meta.inputSchema, meta.inputJsonSchema],
        [meta.outputSchema, meta.outputJsonSchema],
        [meta.initSchema, meta.initJsonSchema],
      ] as const) {
        if (!schema && !jsonSchema) continue;
        await new Promise((resolve) => setImmediate(resolve));
        try {
          // The data is irrelevant: validating anything compiles and caches the schema's validator
          // (Genkit keys its cache by the schema's JSON form, the same object its actions use).
          compiled(() => validateSchema(undefined, { schema, jsonSchema }));
        } catch {
          // A schema ajv cannot compile fails the same way on its action's first call, as it
          // would have without tiers; the tier-up itself must never fail the process.
        }
      }
    }
  }
}
