/**
 * Opaque keyset cursors: base64url(JSON [sort, value, id]). The sort is inside so a cursor cannot be
 * replayed against another ordering; the id breaks ties so pages never skip or repeat rows.
 */
import { BadCursorError } from './errors.ts';

export interface CursorPosition {
  readonly value: string | number;
  readonly id: string;
}

export function encodeCursor(sort: string, position: CursorPosition): string {
  return Buffer.from(JSON.stringify([sort, position.value, position.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, sort: string): CursorPosition {
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new BadCursorError();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadCursorError();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw new BadCursorError();
  const [cursorSort, value, id] = parsed as unknown[];
  if (cursorSort !== sort) throw new BadCursorError('The cursor belongs to another sort order');
  if (typeof id !== 'string' || id.length > 200) throw new BadCursorError();
  if (typeof value === 'number' && Number.isSafeInteger(value)) return { value, id };
  if (typeof value !== 'string' || value.length > 1000) throw new BadCursorError();
  return { value, id };
}
