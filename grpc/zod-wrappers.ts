import { z } from 'genkit';

/**
 * One step through Zod's wrapper types (optional, nullable, default, effects,
 * branded, readonly, catch) towards the schema that carries the value's type;
 * undefined when `schema` is not a wrapper. Callers walk with it and note the
 * wrappers they care about (optionality, the default) on the way.
 */
export function unwrapOnce(schema: z.ZodTypeAny): z.ZodTypeAny | undefined {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) return schema.unwrap() as z.ZodTypeAny;
  if (schema instanceof z.ZodBranded || schema instanceof z.ZodReadonly) return schema.unwrap() as z.ZodTypeAny;
  if (schema instanceof z.ZodDefault) return schema.removeDefault() as z.ZodTypeAny;
  if (schema instanceof z.ZodEffects) return schema.innerType() as z.ZodTypeAny;
  if (schema instanceof z.ZodCatch) return schema.removeCatch() as z.ZodTypeAny;
  return undefined;
}
