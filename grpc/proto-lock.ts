import type { SchemaModel } from './schema-model.js';

/**
 * Wire stability: the numbers of every field and enum value, committed next
 * to the proto. Regenerating keeps each existing number; new fields get the
 * next unused number; a field or value that disappears moves to `reserved`
 * (name and number), so neither is ever reused for something else.
 */

export interface NumberTable {
  /** Current members (proto field name, or Zod enum value) → number. */
  numbers: Record<string, number>;
  /** Removed members → the number they had. */
  reserved: Record<string, number>;
}

export interface ProtoLock {
  /** Bumped if the file format changes. */
  version: 1;
  messages: Record<string, NumberTable>;
  enums: Record<string, NumberTable>;
}

export const EMPTY_LOCK: ProtoLock = { version: 1, messages: {}, enums: {} };

/** proto3 reserves 19000–19999 for the implementation. */
const RESERVED_RANGE = { from: 19000, to: 19999 };

/** Numbers the model's fields and enum values, reusing `previous`; returns the new lock. */
export function applyLock(model: SchemaModel, previous: ProtoLock): ProtoLock {
  const next: ProtoLock = { version: 1, messages: {}, enums: {} };
  for (const message of model.messages.values()) {
    next.messages[message.name] = renumber(
      message.fields.map((f) => f.protoName),
      previous.messages[message.name],
      1,
    );
  }
  for (const enumModel of model.enums.values()) {
    // 0 is <ENUM>_UNSPECIFIED, so Zod's values start at 1.
    next.enums[enumModel.name] = renumber(enumModel.values, previous.enums[enumModel.name], 1);
  }
  return next;
}

function renumber(members: string[], previous: NumberTable | undefined, first: number): NumberTable {
  const numbers: Record<string, number> = {};
  const reserved: Record<string, number> = { ...previous?.reserved };
  const used = new Set<number>([...Object.values(previous?.numbers ?? {}), ...Object.values(reserved)]);

  for (const member of members) {
    const kept = previous?.numbers[member] ?? reserved[member];
    if (kept !== undefined) {
      // A member that comes back gets its old number back, and leaves `reserved`.
      numbers[member] = kept;
      delete reserved[member];
    }
  }
  let candidate = first;
  for (const member of members) {
    if (numbers[member] !== undefined) continue;
    while (used.has(candidate) || (candidate >= RESERVED_RANGE.from && candidate <= RESERVED_RANGE.to)) candidate++;
    numbers[member] = candidate;
    used.add(candidate);
  }
  for (const [member, number] of Object.entries(previous?.numbers ?? {})) {
    if (numbers[member] === undefined) reserved[member] = number;
  }
  return { numbers, reserved: sortByNumber(reserved) };
}

function sortByNumber(table: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(table).sort(([, a], [, b]) => a - b));
}

export function parseLock(text: string | undefined): ProtoLock {
  if (!text) return EMPTY_LOCK;
  const parsed = JSON.parse(text) as ProtoLock;
  if (parsed.version !== 1) throw new Error(`Unsupported proto lock version ${String(parsed.version)}`);
  return parsed;
}

export function serializeLock(lock: ProtoLock): string {
  return `${JSON.stringify(lock, null, 2)}\n`;
}
