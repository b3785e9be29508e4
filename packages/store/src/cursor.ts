/**
 * Opaque keyset cursors: base64url(JSON [sort, value, id, total]). The sort is inside so a cursor cannot be
 * replayed against another ordering; the id breaks ties so pages never skip or repeat rows; the total
 * counted for the first page rides along, so later pages do not count the whole result again.
 */
import { BadCursorError } from './errors.ts';

export interface CursorPosition {
  readonly value: string | number;
  readonly id: string;
  /** The total of matching rows counted for the first page (absent in cursors that carry none). */
  readonly total?: number;
}

export function encodeCursor(sort: string, position: CursorPosition): string {
  const parts: unknown[] = [sort, position.value, position.id];
  if (position.total !== undefined) parts.push(position.total);
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, sort: string): CursorPosition {
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new BadCursorError();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadCursorError();
  }
  if (!Array.isArray(parsed) || parsed.length < 3 || parsed.length > 4) throw new BadCursorError();
  const [cursorSort, value, id, total] = parsed as unknown[];
  if (cursorSort !== sort) throw new BadCursorError('The cursor belongs to another sort order');
  if (typeof id !== 'string' || id.length > 200) throw new BadCursorError();
  if (total !== undefined && !(typeof total === 'number' && Number.isSafeInteger(total) && total >= 0)) {
    throw new BadCursorError();
  }
  const withTotal = total === undefined ? {} : { total };
  if (typeof value === 'number' && Number.isSafeInteger(value)) return { value, id, ...withTotal };
  if (typeof value !== 'string' || value.length > 1000) throw new BadCursorError();
  return { value, id, ...withTotal };
}
