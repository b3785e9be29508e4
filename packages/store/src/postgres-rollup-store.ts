/**
 * Hourly rollups in SQL (both backends). A batch is written with one multi-row upsert per table
 * (`insert ... select from unnest(arrays) on conflict do update set x = x + excluded.x`: a fixed number
 * of parameters however many rows) and the consumer's log position moves in the same transaction.
 */
import { type RawBuilder, sql } from 'kysely';

type Sql = RawBuilder<unknown>;

import type {
  InvalidRollupRow,
  RollupBatch,
  RollupCommitResult,
  RollupDimension,
  RollupEntityDimension,
  RollupGroup,
  RollupMeasures,
  RollupQuery,
  RollupRow,
  RollupStore,
} from './ports.ts';
import { hash31, type StoreContext } from './store-context.ts';

const KEY_COLUMNS = [
  'advertiser_id',
  'campaign_id',
  'line_item_id',
  'creative_id',
  'publisher_id',
  'site_id',
  'placement_id',
  'country',
  'device_type',
] as const;
const KEY_FIELDS = [
  'advertiserId',
  'campaignId',
  'lineItemId',
  'creativeId',
  'publisherId',
  'siteId',
  'placementId',
  'country',
  'deviceType',
] as const;

/** Measure columns of rollup_hourly beside their field names. */
const MEASURES = [
  ['requests', 'requests'],
  ['impressions', 'impressions'],
  ['viewable_impressions', 'viewableImpressions'],
  ['clicks', 'clicks'],
  ['conversions', 'conversions'],
  ['custom_events', 'customEvents'],
  ['events', 'events'],
  ['spend_micros', 'spendMicros'],
  ['revenue_micros', 'revenueMicros'],
  ['invalid_events', 'invalidEvents'],
] as const satisfies readonly (readonly [string, keyof RollupMeasures])[];

const ENTITY_COLUMN: Record<RollupEntityDimension, string> = {
  advertiser: 'advertiser_id',
  campaign: 'campaign_id',
  line_item: 'line_item_id',
  creative: 'creative_id',
  publisher: 'publisher_id',
  site: 'site_id',
  placement: 'placement_id',
  country: 'country',
  device: 'device_type',
};

/** Rows per upsert statement: bounds the arrays sent at once. */
const CHUNK = 5000;

/**
 * int8 sums arrive as text (selected ::text so neither driver rounds them); money must stay exact, so a
 * value past 2^53 is an error, never a silently rounded float.
 */
export function toSafeInteger(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || (typeof value === 'string' && String(n) !== value.replace(/^\+/, ''))) {
    throw new RangeError(`rollup value ${String(value)} is not a safe integer`);
  }
  return n;
}

export class PostgresRollupStore implements RollupStore {
  constructor(private readonly ctx: StoreContext) {}

  async position(consumer: string): Promise<string | undefined> {
    const result = await sql<{
      position: string;
    }>`select position from rollup_positions where consumer = ${consumer}`.execute(this.ctx.db);
    return result.rows[0]?.position;
  }

  async commit(consumer: string, from: string, next: string, batch: RollupBatch): Promise<RollupCommitResult> {
    return this.ctx.db.transaction().execute(async (trx) => {
      // Serialises commits of one consumer name (also when its row does not exist yet).
      await sql`select pg_advisory_xact_lock(${hash31(`marquee:rollup:${this.ctx.schema}`)}::int4, ${hash31(consumer)}::int4)`.execute(
        trx,
      );
      const current = await sql<{
        position: string;
      }>`select position from rollup_positions where consumer = ${consumer}`.execute(trx);
      if ((current.rows[0]?.position ?? '') !== from) return 'moved';
      for (let i = 0; i < batch.rows.length; i += CHUNK) {
        await upsertRows(batch.rows.slice(i, i + CHUNK)).execute(trx);
      }
      for (let i = 0; i < batch.invalid.length; i += CHUNK) {
        await upsertInvalid(batch.invalid.slice(i, i + CHUNK)).execute(trx);
      }
      await sql`insert into rollup_positions (consumer, position, events, updated_at)
        values (${consumer}, ${next}, ${batch.records}, now())
        on conflict (consumer) do update set position = excluded.position,
          events = rollup_positions.events + excluded.events, updated_at = excluded.updated_at`.execute(trx);
      return 'committed';
    });
  }

  async query(query: RollupQuery): Promise<RollupGroup[]> {
    const tz = query.timeZone;
    const labels = query.dimensions.map((d) => dimensionExpression(d, tz));
    const where: Sql[] = [];
    if (query.fromDay !== undefined) where.push(sql`hour >= (${query.fromDay}::date::timestamp at time zone ${tz})`);
    if (query.toDay !== undefined) {
      where.push(sql`hour < ((${query.toDay}::date + 1)::timestamp at time zone ${tz})`);
    }
    if (query.fromMs !== undefined) where.push(sql`hour >= ${new Date(query.fromMs).toISOString()}::timestamptz`);
    if (query.toMs !== undefined) where.push(sql`hour < ${new Date(query.toMs).toISOString()}::timestamptz`);
    for (const [dimension, values] of Object.entries(query.filters ?? {})) {
      const column = ENTITY_COLUMN[dimension as RollupEntityDimension];
      if (!column || !values) continue;
      where.push(sql`${sql.raw(column)} = any(${[...values]}::text[])`);
    }
    const measures = query.invalidByReason
      ? MEASURES.map(([c]) =>
          c === 'invalid_events' ? sql`sum(events)::text as invalid_events` : sql`'0' as ${sql.raw(c)}`,
        )
      : MEASURES.map(([c]) => sql`sum(${sql.raw(c)})::text as ${sql.raw(c)}`);
    const selected = [...labels.map((l, i) => sql`${l} as ${sql.raw(`d${i}`)}`), ...measures];
    const table = sql.raw(query.invalidByReason ? 'rollup_invalid_hourly' : 'rollup_hourly');
    const positions = labels.map((_, i) => sql.raw(String(i + 1)));
    const groupBy = positions.length ? sql` group by ${sql.join(positions)} order by ${sql.join(positions)}` : sql``;
    const whereSql = where.length ? sql` where ${sql.join(where, sql` and `)}` : sql``;
    const result = await sql<Record<string, unknown>>`select ${sql.join(selected)} from ${table}${whereSql}${groupBy}
      limit ${query.maxGroups}`.execute(this.ctx.db);
    const groups: RollupGroup[] = [];
    for (const row of result.rows) {
      // An aggregate without GROUP BY over no rows is one row of NULL sums: no data, no group.
      if (labels.length === 0 && row['requests'] === null) continue;
      const keys: Record<string, string> = {};
      query.dimensions.forEach((d, i) => {
        keys[d] = String(row[`d${i}`] ?? '');
      });
      const measures = {} as Record<keyof RollupMeasures, number>;
      for (const [column, field] of MEASURES) measures[field] = toSafeInteger(row[column] ?? 0);
      groups.push({ keys, measures });
    }
    return groups;
  }
}

function dimensionExpression(dimension: RollupDimension, tz: string): RawBuilder<unknown> {
  switch (dimension) {
    case 'hour':
      return sql`to_char(hour at time zone ${tz}, 'YYYY-MM-DD"T"HH24:MI')`;
    case 'day':
      return sql`to_char(hour at time zone ${tz}, 'YYYY-MM-DD')`;
    case 'week':
      // ISO weeks: labelled by their Monday.
      return sql`to_char(date_trunc('week', hour at time zone ${tz}), 'YYYY-MM-DD')`;
    case 'month':
      return sql`to_char(hour at time zone ${tz}, 'YYYY-MM')`;
    case 'reason':
      return sql`reason`;
    default:
      return sql`${sql.raw(ENTITY_COLUMN[dimension])}`;
  }
}

function keyArrays(rows: readonly (RollupRow | InvalidRollupRow)[]): Sql[] {
  const hours = rows.map((r) => new Date(r.hourMs).toISOString());
  return [sql`${hours}::timestamptz[]`, ...KEY_FIELDS.map((f) => sql`${rows.map((r) => r[f])}::text[]`)];
}

function upsertRows(rows: readonly RollupRow[]) {
  const columns = ['hour', ...KEY_COLUMNS, ...MEASURES.map(([c]) => c)];
  const arrays = [...keyArrays(rows), ...MEASURES.map(([, f]) => sql`${rows.map((r) => r[f])}::int8[]`)];
  const updates = MEASURES.map(([c]) => sql.raw(`${c} = rollup_hourly.${c} + excluded.${c}`));
  return sql`insert into rollup_hourly (${sql.raw(columns.join(', '))})
    select * from unnest(${sql.join(arrays)})
    on conflict (hour, ${sql.raw(KEY_COLUMNS.join(', '))}) do update set ${sql.join(updates)}`;
}

function upsertInvalid(rows: readonly InvalidRollupRow[]) {
  const columns = ['hour', ...KEY_COLUMNS, 'reason', 'events'];
  const arrays = [
    ...keyArrays(rows),
    sql`${rows.map((r) => r.reason)}::text[]`,
    sql`${rows.map((r) => r.events)}::int8[]`,
  ];
  return sql`insert into rollup_invalid_hourly (${sql.raw(columns.join(', '))})
    select * from unnest(${sql.join(arrays)})
    on conflict (hour, ${sql.raw(KEY_COLUMNS.join(', '))}, reason)
    do update set events = rollup_invalid_hourly.events + excluded.events`;
}
