import { invalidField } from '../server/error-details.js';
import type { ProtoLock } from './proto-lock.js';
import type { FieldModel, FieldType, MessageModel, SchemaModel } from './schema-model.js';

/**
 * Converts between ts-proto message objects and flow JSON, driven by the same
 * schema model the .proto was generated from:
 * - unset (`optional`) fields stay absent, so schema defaults apply;
 * - enum numbers ↔ Zod's strings, through the committed lock;
 * - int64 (bigint) ↔ number, refusing values a JS number cannot hold exactly;
 * - google.protobuf.Value is already plain JSON in ts-proto's types;
 * - a required string that its schema would refuse empty reads as absent
 *   when empty: proto3 cannot tell "" from unset, so the error reads
 *   "Required" as it does on REST (a schema that accepts "" still gets "");
 * - strings that were not valid UTF-8 on the wire (see `INVALID_UTF8`) are
 *   refused with INVALID_ARGUMENT naming the field, not passed on with U+FFFD.
 */

/**
 * What the request decoder (see `utf8CheckingDecoder`) puts in a string field
 * whose bytes are not valid UTF-8: a lone surrogate, which no valid UTF-8
 * can decode to, so it cannot be mistaken for a real value.
 */
export const INVALID_UTF8 = '\uD800';
const NOT_UTF8 = 'must be valid UTF-8';

type ProtoObject = Record<string, unknown>;

export class MessageConverter {
  private readonly enumByNumber = new Map<string, Map<number, string>>();
  private readonly enumByValue = new Map<string, Map<string, number>>();

  constructor(
    private readonly model: SchemaModel,
    lock: ProtoLock,
  ) {
    for (const [name, table] of Object.entries(lock.enums)) {
      this.enumByNumber.set(name, new Map(table.members.map((value) => [value.number, value.name])));
      this.enumByValue.set(name, new Map(table.members.map((value) => [value.name, value.number])));
    }
  }

  /** A decoded request → the flow's input JSON. Throws INVALID_ARGUMENT for values JSON cannot carry. */
  toFlowJson(messageName: string, decoded: ProtoObject): unknown {
    const message = this.message(messageName);
    const json = this.objectToJson(message, decoded, '');
    return message.wrapsValue ? json.value : json;
  }

  /** A flow's output (or chunk) JSON → an object ts-proto can encode. */
  fromFlowJson(messageName: string, value: unknown): ProtoObject {
    const message = this.message(messageName);
    const source = message.wrapsValue ? { value } : (value as Record<string, unknown>);
    return this.objectFromJson(message, source ?? {});
  }

  private objectToJson(message: MessageModel, decoded: ProtoObject, path: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const field of message.fields) {
      const raw = decoded[field.tsName];
      const fieldPath = path ? `${path}.${field.jsonName}` : field.jsonName;
      if (raw === undefined || raw === null || (raw === '' && field.emptyIsUnset)) {
        if (field.unsetIsNull) out[field.jsonName] = null;
        continue;
      }
      if (field.repeated) {
        out[field.jsonName] = (raw as unknown[]).map((item, i) => this.valueToJson(field.type, item, `${fieldPath}[${i}]`));
      } else if (field.map) {
        out[field.jsonName] = Object.fromEntries(
          Object.entries(raw as ProtoObject).map(([key, item]) => {
            const itemPath = `${fieldPath}[${JSON.stringify(key)}]`;
            if (key.includes(INVALID_UTF8)) throw invalidField(itemPath, `key ${NOT_UTF8}`);
            return [key, this.valueToJson(field.type, item, itemPath)];
          }),
        );
      } else {
        const json = this.valueToJson(field.type, raw, fieldPath);
        if (json !== undefined) out[field.jsonName] = json;
      }
    }
    return out;
  }

  private valueToJson(type: FieldType, raw: unknown, path: string): unknown {
    switch (type.kind) {
      case 'scalar':
        if (raw === INVALID_UTF8) throw invalidField(path, NOT_UTF8);
        return typeof raw === 'bigint' ? bigintToNumber(raw, path) : raw;
      case 'enum':
        // 0 is <ENUM>_UNSPECIFIED: treated as unset, so the schema decides (default or "Required").
        return this.enumByNumber.get(type.enumName)?.get(raw as number);
      case 'message':
        return this.objectToJson(this.message(type.messageName), raw as ProtoObject, path);
      case 'value':
        checkValueStrings(raw, path);
        return raw;
    }
  }

  private objectFromJson(message: MessageModel, json: Record<string, unknown>): ProtoObject {
    const out: ProtoObject = {};
    for (const field of message.fields) {
      const value = json[field.jsonName];
      if (field.repeated) {
        out[field.tsName] = Array.isArray(value) ? value.map((item) => this.valueFromJson(field.type, item)) : [];
      } else if (field.map) {
        const entries = value && typeof value === 'object' ? Object.entries(value as Record<string, unknown>) : [];
        out[field.tsName] = Object.fromEntries(entries.map(([key, item]) => [key, this.valueFromJson(field.type, item)]));
      } else if (value === undefined || value === null) {
        // proto3 cannot tell null from unset: both leave an optional field unset.
        out[field.tsName] = field.optional || field.oneof ? undefined : zeroValue(field);
      } else {
        out[field.tsName] = this.valueFromJson(field.type, value);
      }
    }
    return out;
  }

  private valueFromJson(type: FieldType, value: unknown): unknown {
    switch (type.kind) {
      case 'scalar':
        return type.scalar === 'int64' && typeof value === 'number' ? BigInt(Math.trunc(value)) : value;
      case 'enum':
        return this.enumByValue.get(type.enumName)?.get(value as string) ?? 0;
      case 'message':
        return this.objectFromJson(this.message(type.messageName), (value ?? {}) as Record<string, unknown>);
      case 'value':
        return value;
    }
  }

  private message(name: string): MessageModel {
    const message = this.model.messages.get(name);
    if (!message) throw new Error(`Unknown message ${name}: is generated/ up to date? Run \`npm run gen\`.`);
    return message;
  }
}

function bigintToNumber(value: bigint, path: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) {
    throw invalidField(path, `${value} is outside the range of exactly representable integers (±${Number.MAX_SAFE_INTEGER})`);
  }
  return number;
}

/** google.protobuf.Value content (any JSON): every string and key must have been valid UTF-8. */
function checkValueStrings(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (value === INVALID_UTF8) throw invalidField(path, NOT_UTF8);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => checkValueStrings(item, `${path}[${i}]`));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes(INVALID_UTF8)) throw invalidField(path, `key ${NOT_UTF8}`);
      checkValueStrings(item, `${path}[${JSON.stringify(key)}]`);
    }
  }
}

/** What ts-proto's encoder expects for an unset non-optional field. */
function zeroValue(field: FieldModel): unknown {
  if (field.type.kind === 'enum') return 0;
  if (field.type.kind !== 'scalar') return undefined;
  switch (field.type.scalar) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int64':
      return 0n;
    case 'double':
    case 'int32':
      return 0;
  }
}
