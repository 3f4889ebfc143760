import { z } from 'genkit';
import { describeConstraints } from './field-constraints.js';
import { pascalCase, snakeCase, tsProtoFieldName } from './naming.js';
import { unwrapOnce } from './zod-wrappers.js';

/**
 * Zod → protobuf mapping, as data. The generator renders this model as a
 * .proto; the gRPC handlers use the very same model to convert decoded
 * messages to flow input and flow output back to messages.
 *
 *   string → string · number → double · integer → int32 when its bounds fit,
 *   else int64 · boolean → bool · enum → enum (<ENUM>_UNSPECIFIED = 0) ·
 *   array → repeated · object → message nested in its parent, named after
 *   the field (`GenerateCharacterResponse.Skills`; an array's element in the
 *   singular: `ReviewCodeResponse.Issue`) · enum → enum nested the same way ·
 *   record → map<string, T> · optional / nullable / default → `optional`
 *   (presence kept, so unset is not "" or 0 and schema defaults apply) ·
 *   union, any, unknown and everything else → google.protobuf.Value.
 */

export type ScalarType = 'string' | 'double' | 'int32' | 'int64' | 'bool';

export type FieldType =
  | { kind: 'scalar'; scalar: ScalarType }
  | { kind: 'enum'; enumName: string }
  | { kind: 'message'; messageName: string }
  | { kind: 'value' };

export interface FieldModel {
  /** The key in the flow's JSON (the Zod object key). */
  jsonName: string;
  /** The proto field name (lower_snake_case). */
  protoName: string;
  /** The property name ts-proto gives the field. */
  tsName: string;
  type: FieldType;
  /** `repeated T` (a Zod array). */
  repeated: boolean;
  /** `map<string, T>` (a Zod record). */
  map: boolean;
  /** proto3 `optional`: presence is tracked. */
  optional: boolean;
  /** Zod rejects the field when it is left out (no optional/default/nullable/any). */
  required: boolean;
  /** Nullable but not optional in Zod: an unset field means `null`, not absent. */
  unsetIsNull?: boolean;
  /**
   * A required string whose schema refuses "": proto3 cannot tell "" from unset,
   * so "" reads as left out (the error says "Required", as on REST).
   */
  emptyIsUnset?: boolean;
  /** Member of this oneof, if any. */
  oneof?: string;
  description?: string;
  /** Default and limits from the Zod schema, as sentences for the proto comment. */
  constraints: string[];
}

/**
 * Message and enum names are paths relative to the proto package: top-level
 * `TellJokeRequest`, nested `ReviewCodeResponse.Issue.Severity`.
 */
export interface MessageModel {
  name: string;
  fields: FieldModel[];
  description?: string;
  /** The Zod schema was not an object: the message wraps it in a `value` field. */
  wrapsValue: boolean;
  /** Descriptions of the message's oneofs, by name. */
  oneofs?: Record<string, string>;
}

export interface EnumModel {
  name: string;
  /** Zod's enum values, in declaration order. */
  values: string[];
  description?: string;
}

export interface SchemaModel {
  messages: Map<string, MessageModel>;
  enums: Map<string, EnumModel>;
}

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

export class SchemaMappingError extends Error {
  override name = 'SchemaMappingError';
}

/** Collects messages and enums for many schemas into one model. */
export class SchemaModelBuilder {
  readonly model: SchemaModel = { messages: new Map(), enums: new Map() };

  /** Adds `schema` as a message called `name` (wrapping a non-object in `value`). */
  addMessage(name: string, schema: z.ZodTypeAny, description?: string): MessageModel {
    const { inner } = unwrap(schema);
    if (inner instanceof z.ZodObject) return this.objectMessage(name, inner, description ?? schema.description);
    const message: MessageModel = { name, fields: [], description: description ?? schema.description, wrapsValue: true };
    this.register(message);
    message.fields.push(this.field('value', schema, name));
    return message;
  }

  /** A oneof member: scalar, enum or message; a list or map is wrapped in a `<Name>List` / `<Name>Map` message. */
  slotField(jsonName: string, schema: z.ZodTypeAny, path: string, oneof: string): FieldModel {
    const { inner } = unwrap(schema);
    if (inner instanceof z.ZodArray || inner instanceof z.ZodRecord) {
      const kind = inner instanceof z.ZodRecord ? 'map' : 'list';
      const wrapper = this.addMessage(`${path}.${pascalCase(jsonName)}${pascalCase(kind)}`, schema, `A ${kind} in a oneof, wrapped in a message.`);
      const protoName = snakeCase(jsonName);
      return {
        jsonName,
        protoName,
        tsName: tsProtoFieldName(protoName),
        type: { kind: 'message', messageName: wrapper.name },
        repeated: false,
        map: false,
        optional: false,
        required: false,
        oneof,
        description: schema.description,
        constraints: [],
      };
    }
    return { ...this.field(jsonName, schema, path), optional: false, required: false, oneof };
  }

  private objectMessage(name: string, schema: z.AnyZodObject, description?: string): MessageModel {
    const message: MessageModel = { name, fields: [], description, wrapsValue: false };
    this.register(message);
    for (const [key, value] of Object.entries(schema.shape as Record<string, z.ZodTypeAny>)) {
      message.fields.push(this.field(key, value, name));
    }
    return message;
  }

  private field(jsonName: string, schema: z.ZodTypeAny, parentName: string): FieldModel {
    const protoName = snakeCase(jsonName);
    const tsName = tsProtoFieldName(protoName);
    if (tsName !== jsonName) {
      throw new SchemaMappingError(
        `Field "${jsonName}" of ${parentName} cannot round-trip through proto naming (${protoName} → ${tsName}); use a camelCase name.`,
      );
    }
    const { inner, optional, description } = unwrap(schema);
    const path = `${parentName}.${pascalCase(jsonName)}`;
    const base = {
      jsonName,
      protoName,
      tsName,
      required: !optional && !schema.isOptional() && !isNullableOnly(schema),
      description: description ?? schema.description,
      constraints: describeConstraints(schema),
    };

    if (inner instanceof z.ZodArray) {
      // The element type is named in the singular: `issues` holds `….Issue` messages.
      const elementPath = `${parentName}.${pascalCase(singular(jsonName))}`;
      return { ...base, type: this.elementType(inner.element as z.ZodTypeAny, elementPath), repeated: true, map: false, optional: false };
    }
    if (inner instanceof z.ZodRecord) {
      return { ...base, type: this.elementType(inner.valueSchema as z.ZodTypeAny, path), repeated: false, map: true, optional: false };
    }
    const type = this.typeOf(inner, path);
    const unsetIsNull = isNullableOnly(schema) ? { unsetIsNull: true } : {};
    const emptyIsUnset = base.required && inner instanceof z.ZodString && !schema.safeParse('').success ? { emptyIsUnset: true } : {};
    return { ...base, type, repeated: false, map: false, optional, ...unsetIsNull, ...emptyIsUnset };
  }

  /** Element of a repeated field or value of a map: nested collections get a wrapper message. */
  private elementType(schema: z.ZodTypeAny, path: string): FieldType {
    const { inner, optional } = unwrap(schema);
    if (inner instanceof z.ZodArray || inner instanceof z.ZodRecord || optional) {
      const wrapper = this.addMessage(`${path}Item`, schema, 'One element that is itself a list, a map or optional, wrapped in a message.');
      return { kind: 'message', messageName: wrapper.name };
    }
    return this.typeOf(inner, path);
  }

  private typeOf(schema: z.ZodTypeAny, path: string): FieldType {
    if (schema instanceof z.ZodString) return { kind: 'scalar', scalar: 'string' };
    if (schema instanceof z.ZodBoolean) return { kind: 'scalar', scalar: 'bool' };
    if (schema instanceof z.ZodNumber) return { kind: 'scalar', scalar: numberType(schema) };
    if (schema instanceof z.ZodBigInt) return { kind: 'scalar', scalar: 'int64' };
    if (schema instanceof z.ZodLiteral) {
      const value: unknown = schema.value;
      if (typeof value === 'string') return { kind: 'scalar', scalar: 'string' };
      if (typeof value === 'boolean') return { kind: 'scalar', scalar: 'bool' };
      if (typeof value === 'number') return { kind: 'scalar', scalar: Number.isInteger(value) ? 'int64' : 'double' };
      return { kind: 'value' };
    }
    if (schema instanceof z.ZodEnum) {
      const values = schema.options as string[];
      const existing = this.model.enums.get(path);
      if (!existing) this.model.enums.set(path, { name: path, values: [...values], description: schema.description });
      return { kind: 'enum', enumName: path };
    }
    if (schema instanceof z.ZodObject) {
      const message = this.model.messages.get(path) ?? this.objectMessage(path, schema, schema.description);
      return { kind: 'message', messageName: message.name };
    }
    return { kind: 'value' };
  }

  private register(message: MessageModel): void {
    if (this.model.messages.has(message.name)) {
      throw new SchemaMappingError(`Two schemas map to the message name ${message.name}; rename a field or flow.`);
    }
    this.model.messages.set(message.name, message);
  }
}

/** The proto type of a field as declared, without `optional` (presence is not part of the wire type). */
export function declaredType(field: FieldModel): string {
  const type = typeName(field.type);
  if (field.map) return `map<string, ${type}>`;
  return field.repeated ? `repeated ${type}` : type;
}

/** A field type's proto name, relative to the package (nested types dotted). */
export function typeName(type: FieldType): string {
  switch (type.kind) {
    case 'scalar':
      return type.scalar;
    case 'enum':
      return type.enumName;
    case 'message':
      return type.messageName;
    case 'value':
      return 'google.protobuf.Value';
  }
}

function singular(name: string): string {
  if (/ies$/.test(name)) return `${name.slice(0, -3)}y`;
  if (/(ss|us|is)$/.test(name)) return name;
  if (/(x|ch|sh|sses)es$/.test(name)) return name.slice(0, -2);
  return name.replace(/s$/, '') || name;
}

/** int32 when the integer's bounds fit, int64 when they do not; non-integers are doubles. */
function numberType(schema: z.ZodNumber): ScalarType {
  if (!schema.isInt) return 'double';
  const min = schema.minValue ?? Number.NEGATIVE_INFINITY;
  const max = schema.maxValue ?? Number.POSITIVE_INFINITY;
  return min >= INT32_MIN && max <= INT32_MAX ? 'int32' : 'int64';
}

/** `.nullable()` without `.optional()` or `.default()` on the outside: the key must be present, maybe null. */
function isNullableOnly(schema: z.ZodTypeAny): boolean {
  let current = schema;
  while (current instanceof z.ZodEffects) current = current.innerType() as z.ZodTypeAny;
  return current instanceof z.ZodNullable;
}

/** Strips optional / nullable / default / effects wrappers, remembering whether the field may be unset. */
export function unwrap(schema: z.ZodTypeAny): { inner: z.ZodTypeAny; optional: boolean; description?: string } {
  let current = schema;
  let optional = false;
  let description = schema.description;
  for (let next = unwrapOnce(current); next; next = unwrapOnce(current)) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) optional = true;
    current = next;
    description ??= current.description;
  }
  return { inner: current, optional, description };
}
