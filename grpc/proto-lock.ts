import { declaredType, type SchemaModel } from './schema-model.js';

/**
 * Wire stability: the number (and, for fields, the type) of every field and
 * enum value, committed next to the proto as flows.lock.json.
 *
 * - Regenerating keeps each existing number; a new member gets the next
 *   number never used before in its message or enum.
 * - A member that disappears moves to `reserved` with its number (and type),
 *   so the number is never reused for something else.
 * - A number is bound to one field type for good: a field that comes back
 *   with its old type gets its old number back; a field that comes back (or
 *   stays) with another type gets a new number, and the old one stays reserved.
 * - The file is canonical: messages and enums sorted by name, members by
 *   number, whatever order the schemas declare them in, so one `npm run gen`
 *   writes the final bytes (a second run changes nothing).
 */

export interface LockedField {
  /** Proto field name, or Zod enum value. */
  name: string;
  number: number;
  /** Fields only: the declared proto type without `optional` (see `declaredType`). */
  type?: string;
}

export interface MemberTable {
  /** Current members, by number. */
  members: LockedField[];
  /** Removed (or retyped) members and the numbers they had, by number. */
  reserved: LockedField[];
}

export interface ProtoLock {
  /** Bumped when the file format changes (1: numbers only; 2: with field types). */
  version: 2;
  messages: Record<string, MemberTable>;
  enums: Record<string, MemberTable>;
}

export const EMPTY_LOCK: ProtoLock = { version: 2, messages: {}, enums: {} };

/** proto3 reserves 19000–19999 for the implementation. */
const RESERVED_RANGE = { from: 19000, to: 19999 };

/** Numbers the model's fields and enum values, reusing `previous`; returns the new lock. */
export function applyLock(model: SchemaModel, previous: ProtoLock): ProtoLock {
  const next: ProtoLock = { version: 2, messages: {}, enums: {} };
  for (const name of [...model.messages.keys()].sort()) {
    const fields = model.messages.get(name)!.fields.map((f) => ({ name: f.protoName, type: declaredType(f) }));
    next.messages[name] = renumber(fields, previous.messages[name]);
  }
  for (const name of [...model.enums.keys()].sort()) {
    // 0 is <ENUM>_UNSPECIFIED, so Zod's values start at 1.
    next.enums[name] = renumber(model.enums.get(name)!.values.map((value) => ({ name: value })), previous.enums[name]);
  }
  return next;
}

/** A member's number in a table of the lock, or an error naming the stale lock. */
export function numberOf(table: MemberTable | undefined, member: string): number {
  const found = table?.members.find((m) => m.name === member);
  if (!found) throw new Error(`No number for ${member} in flows.lock.json: run \`npm run gen\`.`);
  return found.number;
}

type Wanted = { name: string; type?: string };

function renumber(wanted: Wanted[], previous: MemberTable | undefined): MemberTable {
  const before = previous?.members ?? [];
  const reserved = [...(previous?.reserved ?? [])];
  const used = new Set<number>([...before, ...reserved].map((m) => m.number));
  const sameType = (old: LockedField, want: Wanted) => old.name === want.name && (old.type === undefined || old.type === want.type);

  const members: LockedField[] = [];
  const fresh: Wanted[] = [];
  for (const want of wanted) {
    const kept = before.find((old) => sameType(old, want));
    const revived = kept ? undefined : reserved.findIndex((old) => sameType(old, want));
    if (kept) members.push({ ...want, number: kept.number });
    else if (revived !== undefined && revived >= 0) members.push({ ...want, number: reserved.splice(revived, 1)[0]!.number });
    else fresh.push(want);
  }
  let candidate = 1;
  for (const want of fresh) {
    while (used.has(candidate) || (candidate >= RESERVED_RANGE.from && candidate <= RESERVED_RANGE.to)) candidate++;
    members.push({ ...want, number: candidate });
    used.add(candidate);
  }
  const keptNumbers = new Set(members.map((m) => m.number));
  for (const old of before) if (!keptNumbers.has(old.number)) reserved.push(old);
  return { members: byNumber(members), reserved: byNumber(reserved) };
}

const byNumber = (list: LockedField[]) => [...list].sort((a, b) => a.number - b.number);

/** Version 1 locks (numbers without types) are read as version 2 whose types are adopted on the next run. */
export function parseLock(text: string | undefined): ProtoLock {
  if (!text) return EMPTY_LOCK;
  const parsed = JSON.parse(text) as { version: number } & Record<string, unknown>;
  if (parsed.version === 2) return parsed as unknown as ProtoLock;
  if (parsed.version !== 1) throw new Error(`Unsupported proto lock version ${String(parsed.version)}`);
  type V1 = Record<string, { numbers: Record<string, number>; reserved: Record<string, number> }>;
  const upgrade = (tables: V1): Record<string, MemberTable> =>
    Object.fromEntries(
      Object.entries(tables).map(([name, t]) => [
        name,
        {
          members: byNumber(Object.entries(t.numbers).map(([member, number]) => ({ name: member, number }))),
          reserved: byNumber(Object.entries(t.reserved).map(([member, number]) => ({ name: member, number }))),
        },
      ]),
    );
  return { version: 2, messages: upgrade(parsed.messages as V1), enums: upgrade(parsed.enums as V1) };
}

/** Canonical text: sorted, one member per line, so diffs read like the proto's. */
export function serializeLock(lock: ProtoLock): string {
  const member = ({ name, number, type }: LockedField) => JSON.stringify(type === undefined ? { name, number } : { name, number, type });
  const list = (items: LockedField[]) => (items.length === 0 ? '[]' : `[\n${items.map((m) => `        ${member(m)}`).join(',\n')}\n      ]`);
  const tables = (record: Record<string, MemberTable>) => {
    const names = Object.keys(record).sort();
    if (names.length === 0) return '{}';
    const body = names.map((name) => {
      const t = record[name]!;
      return `    ${JSON.stringify(name)}: {\n      "members": ${list(byNumber(t.members))},\n      "reserved": ${list(byNumber(t.reserved))}\n    }`;
    });
    return `{\n${body.join(',\n')}\n  }`;
  };
  return `{\n  "version": 2,\n  "messages": ${tables(lock.messages)},\n  "enums": ${tables(lock.enums)}\n}\n`;
}
