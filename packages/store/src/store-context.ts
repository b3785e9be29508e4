/**
 * What every part of the store shares: the Kysely handle (one SQL dialect for both backends), the
 * backend name, and the in-process wake-up that tells followers a write has committed.
 */
import type { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { Database } from './database.ts';

export interface StoreContext {
  readonly db: Kysely<Database>;
  readonly backend: 'pglite' | 'postgres';
  /** PostgreSQL schema holding the tables (the NOTIFY payload, so followers of other schemas ignore it). */
  readonly schema: string;
  /** Advisory lock key (two int4) that serialises change-feed inserts of this schema. */
  readonly feedLock: readonly [number, number];
  /** Emits 'committed' after every write transaction that recorded changes. */
  readonly events: EventEmitter;
}

export const NOTIFY_CHANNEL = 'marquee_changes';

/** A stable 31-bit hash of a string (FNV-1a), for advisory lock keys derived from the schema name. */
export function hash31(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h & 0x7fffffff;
}
