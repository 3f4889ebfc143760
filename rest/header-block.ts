import type { ServerResponse } from 'node:http';

/**
 * Node builds a response's header block with one `+=` per header line and
 * keeps it (`res._header`) for the life of the response. V8 represents that
 * as a tree of about four concatenated-string nodes per header: with our ~20
 * headers, ≈2 KiB per open stream (heap-snapshot diff, 300 open SSE streams).
 * Converting the string to a number makes V8 flatten it in place into one
 * flat string, and the tree becomes garbage. Harmless when there is no block yet.
 */
export function flattenHeaderBlock(res: ServerResponse): void {
  const header = (res as { _header?: unknown })._header;
  if (typeof header === 'string') Number(header);
}
