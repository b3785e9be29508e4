/**
 * Every write runs here: the caller's row changes, then its audit entries and change-feed rows, all in
 * ONE transaction, so the audit log and the feed can never disagree with the data.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from './database.ts';
import type { Actor, EntityKind } from './ports.ts';
import { NOTIFY_CHANNEL, type StoreContext } from './store-context.ts';

export interface ChangeInput {
  readonly kind: EntityKind | 'network';
  readonly id: string;
  readonly op: 'create' | 'update';
  readonly entity: unknown;
}

export interface AuditInput {
  readonly actor: Actor;
  readonly action: string;
  readonly kind: string;
  readonly entityId: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly advertiserId: string | null;
  readonly publisherId: string | null;
}

export interface WriteRecorder {
  change(change: ChangeInput): void;
  audit(entry: AuditInput): void;
}

const json = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

export async function writeTransaction<T>(
  ctx: StoreContext,
  work: (trx: Transaction<Database>, record: WriteRecorder) => Promise<T>,
): Promise<T> {
  let changed = 0;
  const result = await ctx.db.transaction().execute(async (trx) => {
    const changes: ChangeInput[] = [];
    const audits: AuditInput[] = [];
    const value = await work(trx, { change: (c) => changes.push(c), audit: (a) => audits.push(a) });
    await flush(ctx, trx, changes, audits);
    changed = changes.length;
    return value;
  });
  if (changed > 0) ctx.events.emit('committed');
  return result;
}

/** Inserts audit rows and change rows; called at the end of the transaction. */
async function flush(
  ctx: StoreContext,
  trx: Kysely<Database>,
  changes: readonly ChangeInput[],
  audits: readonly AuditInput[],
): Promise<void> {
  const at = new Date();
  for (let i = 0; i < audits.length; i += 500) {
    await trx
      .insertInto('audit_log')
      .values(
        audits.slice(i, i + 500).map((a) => ({
          at,
          actor: a.actor.label,
          user_id: a.actor.userId,
          api_key_id: a.actor.apiKeyId ?? null,
          request_id: a.actor.requestId ?? null,
          action: a.action,
          kind: a.kind,
          entity_id: a.entityId,
          before: json(a.before),
          after: json(a.after),
          advertiser_id: a.advertiserId,
          publisher_id: a.publisherId,
        })),
      )
      .execute();
  }
  if (changes.length === 0) return;
  // Change-feed ordering. `seq` is a bigserial: numbers are handed out when a row is inserted, but they
  // become visible when the transaction commits. Without a lock, T1 may take seq 7, T2 seq 8, T2 commit
  // first, and a follower that read "up to 8" would never look at 7 again when T1 commits: a skipped
  // change. Holding this transaction-scoped advisory lock from before the insert until commit makes
  // writers take their seqs one at a time, so seqs become visible in commit order with no gaps behind
  // the highest visible one. Taken last, after the row work, so writers only queue for the brief tail.
  await sql`select pg_advisory_xact_lock(${ctx.feedLock[0]}::int4, ${ctx.feedLock[1]}::int4)`.execute(trx);
  for (let i = 0; i < changes.length; i += 500) {
    await trx
      .insertInto('changes')
      .values(
        changes.slice(i, i + 500).map((c) => ({
          kind: c.kind,
          entity_id: c.id,
          op: c.op,
          entity: JSON.stringify(c.entity),
          at,
        })),
      )
      .execute();
  }
  // PostgreSQL delivers a NOTIFY only when (and if) the transaction commits, so sending it here is
  // "after commit" without a window where the process could die between commit and notify.
  if (ctx.backend === 'postgres') await sql`select pg_notify(${NOTIFY_CHANNEL}, ${ctx.schema})`.execute(trx);
}

/** PostgreSQL unique violation (SQLSTATE 23505) with the constraint or index name. */
export function uniqueViolation(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; constraint?: unknown };
  if (e.code !== '23505') return undefined;
  return typeof e.constraint === 'string' ? e.constraint : '';
}
