/**
 * The one repository for every managed entity kind, driven by its descriptor (entity-descriptors.ts).
 * "Postgres" because it speaks PostgreSQL SQL through Kysely; it runs unchanged on PGlite.
 *
 * Lists use keyset pagination ((sort column, id) > (cursor value, cursor id)) on (column, id) indexes:
 * page N costs the same as page 1, unlike OFFSET, and concurrent inserts never shift rows between pages.
 */
import { createHash } from 'node:crypto';
import { newId } from '@marquee/core';
import { type Expression, type ExpressionBuilder, type Insertable, type SqlBool, sql } from 'kysely';
import { decodeCursor, encodeCursor } from './cursor.ts';
import type { Database, EntityTable, EntityTableName } from './database.ts';
import type { EntityDescriptor } from './entity-descriptors.ts';
import { BadQueryError } from './errors.ts';
import type {
  Actor,
  EntityKind,
  EntityRepository,
  EntityTypes,
  ListQuery,
  Page,
  Scope,
  Writable,
  WriteResult,
} from './ports.ts';
import type { StoreContext } from './store-context.ts';
import { uniqueViolation, type WriteRecorder, writeTransaction } from './write-transaction.ts';

type Eb = ExpressionBuilder<Database, EntityTableName>;
type AnyFields = Record<string, unknown>;

const SORTS: Readonly<Record<string, 'id' | 'name' | 'created_at' | 'updated_at' | 'status'>> = {
  id: 'id',
  name: 'name',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  status: 'status',
};
export const MAX_LIST_LIMIT = 500;
const MAX_IDS = 1000;
const META_FIELDS = new Set(['id', 'version', 'createdAt', 'updatedAt']);

export class PostgresEntityRepository<K extends EntityKind> implements EntityRepository<K> {
  readonly kind: K;
  readonly #ctx: StoreContext;
  readonly #d: EntityDescriptor;

  constructor(ctx: StoreContext, descriptor: EntityDescriptor & { kind: K }) {
    this.#ctx = ctx;
    this.#d = descriptor;
    this.kind = descriptor.kind;
  }

  async get(id: string, scope: Scope): Promise<EntityTypes[K] | undefined> {
    const row = await this.#ctx.db
      .selectFrom(this.#d.table)
      .select('data')
      .where('id', '=', id)
      .where((eb) => this.#scopeCondition(eb, scope, 'read'))
      .executeTakeFirst();
    return row?.data as EntityTypes[K] | undefined;
  }

  async getMany(ids: readonly string[], scope: Scope): Promise<EntityTypes[K][]> {
    if (ids.length === 0) return [];
    if (ids.length > MAX_IDS) throw new BadQueryError(`At most ${MAX_IDS} ids at once`, 'ids');
    const rows = await this.#ctx.db
      .selectFrom(this.#d.table)
      .select(['id', 'data'])
      .where('id', 'in', [...new Set(ids)])
      .where((eb) => this.#scopeCondition(eb, scope, 'read'))
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r.data as EntityTypes[K]]));
    return ids.flatMap((id) => {
      const entity = byId.get(id);
      byId.delete(id);
      return entity ? [entity] : [];
    });
  }

  async list(query: ListQuery, scope: Scope): Promise<Page<EntityTypes[K]>> {
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new BadQueryError(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`, 'limit');
    }
    const sortSpec = query.sort ?? 'id';
    const descending = sortSpec.startsWith('-');
    const sortField = descending ? sortSpec.slice(1) : sortSpec;
    const column = SORTS[sortField];
    if (!column) throw new BadQueryError(`Cannot sort on "${sortField}"`, 'sort');
    const cursor = query.cursor ? decodeCursor(query.cursor, sortSpec) : undefined;

    const conditions = (eb: Eb): Expression<SqlBool> => {
      const parts: Expression<SqlBool>[] = [this.#scopeCondition(eb, scope, 'read')];
      const filters = query.filters ?? {};
      for (const [name, value] of Object.entries(filters)) {
        const filterColumn = this.#d.filters[name];
        if (!filterColumn) throw new BadQueryError(`Cannot filter ${this.#d.kind} on "${name}"`, `filters.${name}`);
        const ref = sql.ref(filterColumn);
        if (typeof value === 'string') parts.push(sql<SqlBool>`${ref} = ${value}`);
        else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
          parts.push(value.length === 0 ? sql<SqlBool>`false` : sql<SqlBool>`${ref} in (${sql.join(value)})`);
        } else throw new BadQueryError(`Filter "${name}" must be a string or a list of strings`, `filters.${name}`);
      }
      if (!query.includeArchived && filters.status === undefined) parts.push(eb('status', '<>', 'archived'));
      if (query.search) {
        // ILIKE with the pattern's own wildcards escaped: a substring match, case-insensitive.
        const escaped = query.search.replace(/[\\%_]/g, (c) => `\\${c}`);
        parts.push(sql<SqlBool>`${sql.ref(this.#d.searchColumn)} ilike ${`%${escaped}%`}`);
      }
      return eb.and(parts);
    };

    const base = this.#ctx.db.selectFrom(this.#d.table);
    const totalQuery = base.select((eb) => eb.fn.countAll<string | number>().as('total')).where(conditions);
    let pageQuery = base.select(['id', 'data', sql.ref<string | Date>(column).as('sort_value')]).where(conditions);
    if (cursor) {
      const op = sql.raw(descending ? '<' : '>');
      pageQuery =
        column === 'id'
          ? pageQuery.where(sql<SqlBool>`id ${op} ${cursor.id}`)
          : pageQuery.where(sql<SqlBool>`(${sql.ref(column)}, id) ${op} (${cursor.value}, ${cursor.id})`);
    }
    const direction = descending ? 'desc' : 'asc';
    if (column !== 'id') pageQuery = pageQuery.orderBy(sql.ref(column), direction);
    pageQuery = pageQuery.orderBy('id', direction).limit(limit + 1);

    // The exact count costs a pass over every matching row: it is made for the first page and carried in the
    // cursor to the next ones (a count of 100k rows per page was most of a page's time).
    const [rows, total] = await Promise.all([
      pageQuery.execute(),
      cursor?.total ?? totalQuery.executeTakeFirstOrThrow().then((r) => Number(r.total)),
    ]);
    const hasMore = rows.length > limit;
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    const nextCursor =
      hasMore && last
        ? encodeCursor(sortSpec, {
            value: last.sort_value instanceof Date ? last.sort_value.toISOString() : String(last.sort_value),
            id: last.id,
            total,
          })
        : null;
    return { items: items.map((r) => r.data as EntityTypes[K]), nextCursor, total };
  }

  async create(fields: Writable<EntityTypes[K]> & { id?: string }, actor: Actor): Promise<WriteResult<EntityTypes[K]>> {
    const result = await this.createMany([fields], actor);
    if (result.kind === 'ok') return { kind: 'ok', entity: result.entity[0]! };
    if (result.kind === 'duplicate') return result;
    return { kind: 'not_found' }; // createMany never reports not_found or conflict
  }

  async createMany(
    items: readonly (Writable<EntityTypes[K]> & { id?: string })[],
    actor: Actor,
  ): Promise<WriteResult<EntityTypes[K][]>> {
    if (items.length === 0) return { kind: 'ok', entity: [] };
    const now = new Date();
    const iso = now.toISOString();
    const entities = items.map((fields) => {
      const { id, ...rest } = fields as AnyFields & { id?: string };
      return {
        id: id ?? newId(this.#d.idKind, now.getTime()),
        ...stripMeta(rest),
        version: 1,
        createdAt: iso,
        updatedAt: iso,
      } as AnyFields & { id: string };
    });
    return this.#guardUnique(() =>
      writeTransaction(this.#ctx, async (trx, record) => {
        // 1000 rows x ~17 columns stays far below PostgreSQL's 65535 bind parameters per statement.
        for (let i = 0; i < entities.length; i += 1000) {
          const chunk = entities.slice(i, i + 1000);
          await trx
            .insertInto(this.#d.table)
            .values(chunk.map((e) => this.#row(e, now, now)))
            .execute();
        }
        for (const entity of entities) this.#record(record, actor, 'create', undefined, entity);
        return { kind: 'ok', entity: entities as unknown as EntityTypes[K][] } as const;
      }),
    );
  }

  async update(
    id: string,
    expectedVersion: number,
    fields: Writable<EntityTypes[K]>,
    scope: Scope,
    actor: Actor,
  ): Promise<WriteResult<EntityTypes[K]>> {
    return this.#guardUnique(() =>
      writeTransaction(this.#ctx, async (trx, record): Promise<WriteResult<EntityTypes[K]>> => {
        const current = await trx
          .selectFrom(this.#d.table)
          .select(['data', 'version', 'created_at'])
          .where('id', '=', id)
          .where((eb) => this.#scopeCondition(eb, scope, 'write'))
          .forUpdate()
          .executeTakeFirst();
        if (!current) return { kind: 'not_found' };
        const before = current.data as AnyFields;
        if (current.version !== expectedVersion) return { kind: 'conflict', current: before as EntityTypes[K] };
        const now = new Date();
        const after = {
          id,
          ...stripMeta(fields as AnyFields),
          version: current.version + 1,
          createdAt: before.createdAt,
          updatedAt: now.toISOString(),
        } as AnyFields & { id: string };
        // A tenant may not move a row to a tenant it cannot see.
        if (!this.#tenantAllows(scope, after)) return { kind: 'not_found' };
        const { id: _id, created_at: _c, ...changes } = this.#row(after, current.created_at, now);
        const updated = await trx
          .updateTable(this.#d.table)
          .set(changes)
          .where('id', '=', id)
          .where('version', '=', expectedVersion)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) return { kind: 'conflict', current: before as EntityTypes[K] };
        this.#record(record, actor, 'update', before, after);
        return { kind: 'ok', entity: after as unknown as EntityTypes[K] };
      }),
    );
  }

  async setStatus(ids: readonly string[], status: string, scope: Scope, actor: Actor): Promise<EntityTypes[K][]> {
    if (!this.#d.statuses.includes(status)) {
      throw new BadQueryError(`status must be one of ${this.#d.statuses.join(', ')}`, 'status');
    }
    if (ids.length === 0) return [];
    if (ids.length > MAX_IDS) throw new BadQueryError(`At most ${MAX_IDS} ids at once`, 'ids');
    return writeTransaction(this.#ctx, async (trx, record) => {
      const rows = await trx
        .selectFrom(this.#d.table)
        .select(['id', 'data', 'version', 'created_at'])
        .where('id', 'in', [...new Set(ids)])
        .where('status', '<>', status)
        .where((eb) => this.#scopeCondition(eb, scope, 'write'))
        .orderBy('id')
        .forUpdate()
        .execute();
      const now = new Date();
      const changed: EntityTypes[K][] = [];
      for (const row of rows) {
        const before = row.data as AnyFields & { id: string };
        const after = { ...before, status, version: row.version + 1, updatedAt: now.toISOString() };
        await trx
          .updateTable(this.#d.table)
          .set({ status, version: after.version, updated_at: now, data: JSON.stringify(after) })
          .where('id', '=', row.id)
          .execute();
        this.#record(record, actor, 'status', before, after);
        changed.push(after as unknown as EntityTypes[K]);
      }
      return changed;
    });
  }

  /** The SQL row of an entity: promoted columns copied from the document. */
  #row(entity: AnyFields & { id: string }, createdAt: Date, updatedAt: Date): Insertable<EntityTable> {
    const row: Record<string, unknown> = {
      id: entity.id,
      name: entity.name,
      status: entity.status,
      version: entity.version,
      created_at: createdAt,
      updated_at: updatedAt,
      data: JSON.stringify(entity),
    };
    for (const [field, column] of Object.entries(this.#d.promoted)) {
      if (column) row[column] = entity[field] ?? null;
    }
    return row as unknown as Insertable<EntityTable>;
  }

  #record(
    record: WriteRecorder,
    actor: Actor,
    action: 'create' | 'update' | 'status',
    before: AnyFields | undefined,
    after: AnyFields & { id: string },
  ): void {
    record.change({ kind: this.#d.kind, id: after.id, op: action === 'create' ? 'create' : 'update', entity: after });
    const tenant = this.#tenantOf(after);
    record.audit({
      actor,
      action,
      kind: this.#d.kind,
      entityId: after.id,
      before: before ? redactSecrets(before) : null,
      after: redactSecrets(after),
      advertiserId: this.#d.side === 'advertiser' ? tenant : null,
      publisherId: this.#d.side === 'publisher' ? tenant : null,
    });
  }

  #tenantOf(entity: AnyFields): string | null {
    if (this.#d.tenantColumn === null) return null;
    if (this.#d.tenantColumn === 'id') return String(entity.id);
    const field = this.#d.tenantColumn === 'advertiser_id' ? 'advertiserId' : 'publisherId';
    const value = entity[field];
    return typeof value === 'string' ? value : null;
  }

  #tenantAllows(scope: Scope, entity: AnyFields): boolean {
    if (scope.kind === 'all') return true;
    const tenant = this.#tenantOf(entity);
    if (tenant === null) return false;
    if (this.#d.side === 'advertiser') return scope.advertiserIds.includes(tenant);
    if (this.#d.side === 'publisher') return scope.publisherIds.includes(tenant);
    return false;
  }

  /**
   * Tenancy as SQL. Reads of a tenant scope also see network-wide rows (audiences without advertiser);
   * writes do not, so a tenant can target a shared segment but never change it.
   */
  #scopeCondition(eb: Eb, scope: Scope, mode: 'read' | 'write'): Expression<SqlBool> {
    if (scope.kind === 'all') return sql<SqlBool>`true`;
    const d = this.#d;
    if (d.side === 'none' || d.tenantColumn === null) return sql<SqlBool>`false`;
    const ids = d.side === 'advertiser' ? scope.advertiserIds : scope.publisherIds;
    const column = d.tenantColumn;
    const own = ids.length === 0 ? sql<SqlBool>`false` : eb(column, 'in', [...ids]);
    if (mode === 'read' && d.nullTenantIsShared) return eb.or([own, eb(column, 'is', null)]);
    return own;
  }

  async #guardUnique<R>(work: () => Promise<R>): Promise<R | { kind: 'duplicate'; field: string }> {
    try {
      return await work();
    } catch (error) {
      const constraint = uniqueViolation(error);
      if (constraint === undefined) throw error;
      return { kind: 'duplicate', field: this.#d.uniques[constraint] ?? (constraint || 'id') };
    }
  }
}

function stripMeta(fields: AnyFields): AnyFields {
  const out: AnyFields = {};
  for (const [k, v] of Object.entries(fields)) if (!META_FIELDS.has(k) && v !== undefined) out[k] = v;
  return out;
}

/**
 * Fields that hold credentials: the audit log records that they changed (a short fingerprint, so a rotation
 * shows), never their values.
 */
const SECRET_FIELDS = ['postbackSecret'] as const;

function redactSecrets<T extends AnyFields>(entity: T): T {
  if (!SECRET_FIELDS.some((f) => f in entity)) return entity;
  const copy: AnyFields = { ...entity };
  for (const f of SECRET_FIELDS) {
    const value = copy[f];
    if (typeof value === 'string') {
      copy[f] = `[redacted sha256:${createHash('sha256').update(value).digest('hex').slice(0, 8)}]`;
    }
  }
  return copy as T;
}
