/** The audit trail: newest first, keyset-paged on the bigserial id. */
import { decodeCursor, encodeCursor } from './cursor.ts';
import { BadQueryError } from './errors.ts';
import type { AuditEntry, AuditLog, Page } from './ports.ts';
import type { StoreContext } from './store-context.ts';

const CURSOR_SORT = 'audit:-id';

export class PostgresAuditLog implements AuditLog {
  readonly #ctx: StoreContext;
  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async record(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    await this.#ctx.db
      .insertInto('audit_log')
      .values({
        at: new Date(),
        actor: entry.actor,
        user_id: entry.userId,
        api_key_id: null,
        request_id: entry.requestId,
        action: entry.action,
        kind: entry.kind,
        entity_id: entry.entityId,
        before: entry.before === undefined || entry.before === null ? null : JSON.stringify(entry.before),
        after: entry.after === undefined || entry.after === null ? null : JSON.stringify(entry.after),
        advertiser_id: entry.advertiserId,
        publisher_id: entry.publisherId,
      })
      .execute();
  }

  async list(query: {
    kind?: string;
    entityId?: string;
    userId?: string;
    limit?: number;
    cursor?: string;
  }): Promise<Page<AuditEntry>> {
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      throw new BadQueryError('limit must be an integer from 1 to 500', 'limit');
    }
    const after = query.cursor ? decodeCursor(query.cursor, CURSOR_SORT) : undefined;
    if (after && typeof after.value !== 'number') throw new BadQueryError('The cursor is not valid', 'cursor');
    let base = this.#ctx.db.selectFrom('audit_log');
    if (query.kind !== undefined) base = base.where('kind', '=', query.kind);
    if (query.entityId !== undefined) base = base.where('entity_id', '=', query.entityId);
    if (query.userId !== undefined) base = base.where('user_id', '=', query.userId);
    let page = base.selectAll();
    if (after) page = page.where('id', '<', after.value as never);
    const [rows, totalRow] = await Promise.all([
      page
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute(),
      base.select((eb) => eb.fn.countAll<string | number>().as('total')).executeTakeFirstOrThrow(),
    ]);
    const items = rows.slice(0, limit).map(
      (r): AuditEntry => ({
        id: Number(r.id),
        at: r.at.toISOString(),
        actor: r.actor,
        userId: r.user_id,
        requestId: r.request_id,
        action: r.action,
        kind: r.kind,
        entityId: r.entity_id,
        before: r.before ?? null,
        after: r.after ?? null,
        advertiserId: r.advertiser_id,
        publisherId: r.publisher_id,
      }),
    );
    const last = items.at(-1);
    const nextCursor =
      rows.length > limit && last ? encodeCursor(CURSOR_SORT, { value: last.id, id: String(last.id) }) : null;
    return { items, nextCursor, total: Number(totalRow.total) };
  }
}
