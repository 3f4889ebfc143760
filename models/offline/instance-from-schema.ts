import randexpModule from 'randexp';
import { hashString, humanize, pick, truncate } from './seeded-text.js';

/**
 * Builds a JSON value that is valid against a JSON schema (the subset that
 * zod-to-json-schema emits): objects, arrays, enums, const, integers and
 * numbers with bounds, strings with lengths, formats and patterns, anyOf /
 * oneOf / allOf, nullable types and local $refs. Deterministic for a given
 * schema, seed and text source.
 */

type JsonSchema = Record<string, unknown>;

// randexp's CommonJS build assigns the class to module.exports while its types
// declare a default export, so the default import is the class at run time.
const RandExp = ((randexpModule as unknown as { default?: unknown }).default ?? randexpModule) as typeof randexpModule.default;

export interface InstanceOptions {
  /** Drives every choice (enum member, number within bounds, wording). */
  seed: number;
  /** Produces prose for a string field from its name, path and description. */
  describe: (field: { name: string; path: string; description?: string }) => string;
}

export function instanceFromSchema(schema: unknown, options: InstanceOptions): unknown {
  const root = asSchema(schema);
  return new Builder(root, options).build(root, 'value', '', 0);
}

const MAX_DEPTH = 12;

class Builder {
  constructor(
    private readonly root: JsonSchema,
    private readonly options: InstanceOptions,
  ) {}

  build(schema: JsonSchema, name: string, path: string, depth: number): unknown {
    if (depth > MAX_DEPTH) return null;
    const resolved = this.resolve(schema);
    const salt = hashString(path);

    if ('const' in resolved) return resolved.const;
    if (Array.isArray(resolved.enum) && resolved.enum.length > 0) {
      return pick(resolved.enum, this.options.seed, salt);
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      const variants = resolved[key];
      if (Array.isArray(variants) && variants.length > 0) {
        // Prefer a non-null variant: null is valid but tells the reader nothing.
        const nonNull = variants.map(asSchema).find((v) => this.resolve(v).type !== 'null');
        return this.build(nonNull ?? asSchema(variants[0]), name, path, depth + 1);
      }
    }
    if (Array.isArray(resolved.allOf)) {
      const merged = resolved.allOf.map((s) => this.build(asSchema(s), name, path, depth + 1));
      return merged.every(isPlainObject) ? Object.assign({}, ...merged) : merged[0];
    }

    switch (primaryType(resolved)) {
      case 'object':
        return this.object(resolved, path, depth);
      case 'array':
        return this.array(resolved, name, path, depth);
      case 'integer':
        return this.integer(resolved, salt);
      case 'number':
        return this.number(resolved, salt);
      case 'boolean':
        return pick([true, false], this.options.seed, salt);
      case 'null':
        return null;
      case 'string':
        return this.string(resolved, name, path);
      default:
        return this.options.describe({ name, path, description: description(resolved) });
    }
  }

  private object(schema: JsonSchema, path: string, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const properties = isPlainObject(schema.properties) ? schema.properties : {};
    // Optional fields are filled too: a complete answer is the more useful one.
    for (const [key, propSchema] of Object.entries(properties)) {
      out[key] = this.build(asSchema(propSchema), key, path ? `${path}.${key}` : key, depth + 1);
    }
    const extra = schema.additionalProperties;
    if (Object.keys(properties).length === 0 && isPlainObject(extra)) {
      out.example = this.build(extra, 'example', `${path}.example`, depth + 1);
    }
    return out;
  }

  private array(schema: JsonSchema, name: string, path: string, depth: number): unknown[] {
    const min = numberOr(schema.minItems, 0);
    const max = numberOr(schema.maxItems, Number.POSITIVE_INFINITY);
    const count = Math.min(Math.max(min, 3), max);
    const items = asSchema(schema.items);
    const singular = name.endsWith('ies') ? `${name.slice(0, -3)}y` : name.replace(/s$/, '');
    return Array.from({ length: count }, (_, i) =>
      this.build(items, `${singular} ${i + 1}`, `${path}[${i}]`, depth + 1),
    );
  }

  private integer(schema: JsonSchema, salt: number): number {
    const low = Math.ceil(lowerBound(schema, 0, 1));
    // Wide ranges (e.g. a line number up to 10 million) get small, plausible values.
    const high = Math.min(Math.floor(upperBound(schema, low + 100, 1)), low + 100);
    if (high < low) return low;
    return low + (Math.imul(this.options.seed ^ salt, 2654435761) >>> 0) % (high - low + 1);
  }

  private number(schema: JsonSchema, salt: number): number {
    const low = lowerBound(schema, 0, 1e-6);
    const high = upperBound(schema, low + 1, 1e-6);
    const fraction = ((Math.imul(this.options.seed ^ salt, 2246822519) >>> 0) % 1000) / 1000;
    const value = low + (high - low) * fraction;
    const rounded = Math.round(value * 1000) / 1000;
    // Rounding is only cosmetic: keep it unless it would cross an exclusive bound.
    return rounded >= low && rounded <= high ? rounded : value;
  }

  private string(schema: JsonSchema, name: string, path: string): string {
    const minLength = numberOr(schema.minLength, 0);
    const maxLength = numberOr(schema.maxLength, 400);
    if (typeof schema.pattern === 'string') {
      const matching = matchPattern(schema.pattern, { minLength, maxLength, seed: this.options.seed ^ hashString(path) });
      if (matching !== undefined) return matching;
    }
    const format = typeof schema.format === 'string' ? schema.format : undefined;
    let text = formatted(format, this.options.seed) ?? this.options.describe({ name, path, description: description(schema) });
    text = truncate(text, maxLength);
    while (text.length < minLength) text += ` ${humanize(name) || 'more'}`;
    return truncate(text, maxLength);
  }

  private resolve(schema: JsonSchema): JsonSchema {
    let current = schema;
    for (let hops = 0; typeof current.$ref === 'string' && hops < 16; hops++) {
      current = { ...lookupRef(this.root, current.$ref), ...withoutRef(current) };
    }
    return current;
  }
}

function lookupRef(root: JsonSchema, ref: string): JsonSchema {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const segment of ref.slice(1).split('/').filter(Boolean)) {
    node = isPlainObject(node) ? node[decodeURIComponent(segment.replace(/~1/g, '/').replace(/~0/g, '~'))] : undefined;
  }
  return asSchema(node);
}

function withoutRef(schema: JsonSchema): JsonSchema {
  const { $ref: _ignored, ...rest } = schema;
  return rest;
}

function primaryType(schema: JsonSchema): string | undefined {
  const type = schema.type;
  if (Array.isArray(type)) return type.find((t) => t !== 'null') ?? 'null';
  if (typeof type === 'string') return type;
  if (isPlainObject(schema.properties)) return 'object';
  if (schema.items) return 'array';
  return undefined;
}

function lowerBound(schema: JsonSchema, fallback: number, step: number): number {
  if (typeof schema.minimum === 'number') return schema.minimum;
  if (typeof schema.exclusiveMinimum === 'number') return schema.exclusiveMinimum + step;
  return typeof schema.maximum === 'number' ? Math.min(fallback, schema.maximum) : fallback;
}

function upperBound(schema: JsonSchema, fallback: number, step: number): number {
  if (typeof schema.maximum === 'number') return schema.maximum;
  if (typeof schema.exclusiveMaximum === 'number') return schema.exclusiveMaximum - step;
  return fallback;
}

function formatted(format: string | undefined, seed: number): string | undefined {
  switch (format) {
    case 'uri':
    case 'url':
      return `https://example.com/offline/${seed.toString(16)}`;
    case 'email':
      return `offline-${seed.toString(16)}@example.com`;
    case 'date-time':
      return new Date(Date.UTC(2024, 0, 1) + (seed % 365) * 86_400_000).toISOString();
    case 'date':
      return new Date(Date.UTC(2024, 0, 1) + (seed % 365) * 86_400_000).toISOString().slice(0, 10);
    case 'uuid': {
      const hex = seed.toString(16).padStart(8, '0');
      return `${hex}-0000-4000-8000-${hex}0000`;
    }
    default:
      return undefined;
  }
}

/**
 * A string matching the pattern within the length bounds, drawn by randexp
 * from a PRNG seeded by the request (so still deterministic).
 */
function matchPattern(pattern: string, bounds: { minLength: number; maxLength: number; seed: number }): string | undefined {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
  const generator = new RandExp(regex);
  generator.max = Math.max(1, Math.min(bounds.maxLength, Math.max(bounds.minLength, 12)));
  const random = mulberry32(bounds.seed);
  generator.randInt = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidate = generator.gen();
    if (candidate.length >= bounds.minLength && candidate.length <= bounds.maxLength && regex.test(candidate)) return candidate;
  }
  return undefined;
}

/** Small seeded PRNG (mulberry32): deterministic draws for randexp. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function description(schema: JsonSchema): string | undefined {
  return typeof schema.description === 'string' ? schema.description : undefined;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function asSchema(value: unknown): JsonSchema {
  if (value === true || value === undefined) return {};
  return isPlainObject(value) ? value : {};
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
