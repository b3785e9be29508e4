/**
 * The ledger in SQL (both backends; migration 3). Entries, lines and accounts are written in one
 * transaction; triggers keep the running balances and refuse, at commit, an entry whose lines do not sum
 * to zero. Every int8 is read back as text and checked with toSafeInteger (never a rounded float).
 */
import {
  type AccountKind,
  type AccountRef,
  type AdvertiserExposure,
  accountId,
  type EntryKind,
  entryProblems,
  type JournalEntry,
  type JournalEntryDraft,
  planUsagePostings,
  type TrialBalance,
  trialBalanceOf,
  type UsageTotals,
  usageKey,
} from '@marquee/billing';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type {
  AccountBalance,
  BalanceFilter,
  BillingStore,
  CreditLimit,
  EntryQuery,
  PostedUsage,
  PostResult,
  UsagePostingOptions,
  UsagePostingRun,
} from './billing-ports.ts';
import type { Database } from './database.ts';
import { toSafeInteger } from './postgres-rollup-store.ts';
import { hash31, type StoreContext } from './store-context.ts';

type Db = Kysely<Database> | Transaction<Database>;
type Sql = RawBuilder<unknown>;

const POSTER = 'usage';
const SYSTEM_ACTOR = 'system:billing';
/** Rows per multi-row insert (bounds the arrays sent at once). */
const CHUNK = 2000;

interface EntryRow {
  id: string;
  posting_key: string;
  kind: string;
  currency: string;
  hour_ms: string | null;
  advertiser_id: string | null;
  publisher_id: string | null;
  memo: string;
  created_by: string;
  created_at: Date | string;
}

interface LineRow {
  entry_id: string;
  account_id: string;
  kind: string;
  owner_id: string;
  currency: string;
  amount: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class PostgresBillingStore implements BillingStore {
  constructor(private readonly ctx: StoreContext) {}

  private lock(trx: Db, name: string) {
    return sql`select pg_advisory_xact_lock(${hash31(`marquee:billing:${this.ctx.schema}`)}::int4, ${hash31(name)}::int4)`.execute(
      trx,
    );
  }

  async post(draft: JournalEntryDraft, createdBy: string): Promise<PostResult> {
    const problems = entryProblems(draft);
    if (problems.length) throw new RangeError(`unbalanced journal entry ${draft.postingKey}: ${problems.join('; ')}`);
    return this.ctx.db.transaction().execute(async (trx) => {
      const inserted = await sql<{ id: string }>`insert into ledger_entries
          (posting_key, kind, currency, hour, advertiser_id, publisher_id, memo, created_by)
        values (${draft.postingKey}, ${draft.kind}, ${draft.currency},
          ${draft.hourMs === null ? null : iso(draft.hourMs)}::timestamptz, ${draft.advertiserId}, ${draft.publisherId},
          ${draft.memo}, ${createdBy})
        on conflict (posting_key) do nothing returning id::text as id`.execute(trx);
      const id = inserted.rows[0]?.id;
      if (id === undefined) {
        const existing = await this.entriesWhere(trx, [sql`e.posting_key = ${draft.postingKey}`], 1);
        return { kind: 'exists' as const, entry: existing[0]! };
      }
      await insertAccounts(
        trx,
        draft.lines.map((l) => l.account),
      );
      await insertLines(
        trx,
        draft.lines.map((l) => ({ entryId: id, account: l.account, amountMicros: l.amountMicros })),
      );
      const entry = await this.entriesWhere(trx, [sql`e.id = ${id}::int8`], 1);
      return { kind: 'posted' as const, entry: entry[0]! };
    });
  }

  async postUsage(options: UsagePostingOptions): Promise<UsagePostingRun> {
    const through = Math.floor(options.throughMs / 3_600_000) * 3_600_000;
    const from = through - options.lookbackMs;
    return this.ctx.db.transaction().execute(async (trx) => {
      // One poster at a time per schema: a second one waits, then finds nothing left to post.
      await this.lock(trx, POSTER);
      // Spend and revenue of valid events per key; the currency is the line item's (the rollups' money is in it).
      const current = await sql<{
        hour_ms: string;
        advertiser_id: string;
        publisher_id: string;
        currency: string;
        spend: string;
        revenue: string;
      }>`select (extract(epoch from r.hour) * 1000)::int8::text as hour_ms, r.advertiser_id, r.publisher_id,
          coalesce(li.data->>'currency', (select currency from network where id = 1)) as currency,
          sum(r.spend_micros)::text as spend, sum(r.revenue_micros)::text as revenue
        from rollup_hourly r left join line_items li on li.id = r.line_item_id
        where r.hour >= ${iso(from)}::timestamptz and r.hour < ${iso(through)}::timestamptz
          and r.advertiser_id <> '' and (r.spend_micros <> 0 or r.revenue_micros <> 0)
        group by 1, 2, 3, 4`.execute(trx);
      const posted = await sql<{
        hour_ms: string;
        advertiser_id: string;
        publisher_id: string;
        currency: string;
        spend: string;
        revenue: string;
      }>`select (extract(epoch from hour) * 1000)::int8::text as hour_ms, advertiser_id, publisher_id, currency,
          spend_micros::text as spend, revenue_micros::text as revenue
        from billing_postings where hour >= ${iso(from)}::timestamptz and hour < ${iso(through)}::timestamptz`.execute(
        trx,
      );
      const toTotals = (r: (typeof current.rows)[number]): UsageTotals => ({
        hourMs: toSafeInteger(r.hour_ms),
        advertiserId: r.advertiser_id,
        publisherId: r.publisher_id,
        currency: r.currency,
        spendMicros: toSafeInteger(r.spend),
        revenueMicros: toSafeInteger(r.revenue),
      });
      const rows = current.rows.map(toTotals);
      const done = new Map(posted.rows.map((r) => [usageKey(toTotals(r)), toTotals(r)]));
      const drafts = planUsagePostings(rows, done);
      let entries = 0;
      for (let i = 0; i < drafts.length; i += CHUNK) entries += await insertEntries(trx, drafts.slice(i, i + CHUNK));
      const changed = rows.filter((r) => {
        const p = done.get(usageKey(r));
        return !p || p.spendMicros !== r.spendMicros || p.revenueMicros !== r.revenueMicros;
      });
      for (let i = 0; i < changed.length; i += CHUNK) await upsertPostings(trx, changed.slice(i, i + CHUNK));
      await sql`insert into billing_state (name, posted_through, updated_at) values (${POSTER}, ${iso(through)}::timestamptz, now())
        on conflict (name) do update set posted_through = greatest(billing_state.posted_through, excluded.posted_through),
          updated_at = now()`.execute(trx);
      return { entries, keys: rows.length, throughMs: through };
    });
  }

  async postedUsage(query: {
    advertiserId?: string;
    publisherId?: string;
    fromMs: number;
    toMs: number;
  }): Promise<PostedUsage[]> {
    const where: Sql[] = [sql`hour >= ${iso(query.fromMs)}::timestamptz`, sql`hour < ${iso(query.toMs)}::timestamptz`];
    if (query.advertiserId !== undefined) where.push(sql`advertiser_id = ${query.advertiserId}`);
    if (query.publisherId !== undefined) where.push(sql`publisher_id = ${query.publisherId}`);
    const result = await sql<{ currency: string; spend: string; revenue: string }>`select currency,
        sum(spend_micros)::text as spend, sum(revenue_micros)::text as revenue
      from billing_postings where ${sql.join(where, sql` and `)} group by currency order by currency`.execute(
      this.ctx.db,
    );
    return result.rows.map((r) => ({
      currency: r.currency,
      spendMicros: toSafeInteger(r.spend),
      revenueMicros: toSafeInteger(r.revenue),
    }));
  }

  async balances(filter: BalanceFilter): Promise<AccountBalance[]> {
    const any: Sql[] = [];
    if (filter.advertiserIds === undefined && filter.publisherIds === undefined && filter.network !== false) {
      any.push(sql`true`);
    } else {
      if (filter.advertiserIds?.length) {
        any.push(sql`(kind = 'advertiser' and owner_id = any(${[...filter.advertiserIds]}::text[]))`);
      }
      if (filter.publisherIds?.length) {
        any.push(sql`(kind = 'publisher' and owner_id = any(${[...filter.publisherIds]}::text[]))`);
      }
      if (filter.network) any.push(sql`owner_id = ''`);
    }
    if (any.length === 0) return [];
    const result = await sql<{
      id: string;
      kind: string;
      owner_id: string;
      currency: string;
      balance: string;
    }>`select id, kind, owner_id, currency, balance_micros::text as balance from ledger_accounts
      where ${sql.join(any, sql` or `)} order by kind, owner_id, currency`.execute(this.ctx.db);
    return result.rows.map((r) => ({
      accountId: r.id,
      kind: r.kind as AccountKind,
      ownerId: r.owner_id,
      currency: r.currency,
      balanceMicros: toSafeInteger(r.balance),
    }));
  }

  async entries(query: EntryQuery): Promise<JournalEntry[]> {
    const where: Sql[] = [];
    if (query.advertiserIds !== undefined || query.publisherIds !== undefined) {
      const any: Sql[] = [];
      if (query.advertiserIds?.length) any.push(sql`e.advertiser_id = any(${[...query.advertiserIds]}::text[])`);
      if (query.publisherIds?.length) any.push(sql`e.publisher_id = any(${[...query.publisherIds]}::text[])`);
      if (any.length === 0) return [];
      where.push(sql`(${sql.join(any, sql` or `)})`);
    }
    if (query.kinds?.length) where.push(sql`e.kind = any(${[...query.kinds]}::text[])`);
    if (query.fromMs !== undefined) where.push(sql`e.created_at >= ${iso(query.fromMs)}::timestamptz`);
    if (query.toMs !== undefined) where.push(sql`e.created_at < ${iso(query.toMs)}::timestamptz`);
    if (query.beforeId !== undefined) where.push(sql`e.id < ${query.beforeId}::int8`);
    return this.entriesWhere(this.ctx.db, where, query.limit);
  }

  private async entriesWhere(db: Db, where: readonly Sql[], limit: number): Promise<JournalEntry[]> {
    const whereSql = where.length ? sql`where ${sql.join([...where], sql` and `)}` : sql``;
    const entries = await sql<EntryRow>`select e.id::text as id, e.posting_key, e.kind, e.currency,
        (extract(epoch from e.hour) * 1000)::int8::text as hour_ms, e.advertiser_id, e.publisher_id, e.memo,
        e.created_by, e.created_at
      from ledger_entries e ${whereSql} order by e.id desc limit ${limit}`.execute(db);
    if (entries.rows.length === 0) return [];
    const ids = entries.rows.map((e) => e.id);
    const lines = await sql<LineRow>`select l.entry_id::text as entry_id, l.account_id, a.kind, a.owner_id, l.currency,
        l.amount_micros::text as amount
      from ledger_lines l join ledger_accounts a on a.id = l.account_id
      where l.entry_id = any(${ids}::int8[]) order by l.entry_id, l.amount_micros desc, l.account_id`.execute(db);
    const byEntry = new Map<string, LineRow[]>();
    for (const l of lines.rows) {
      const list = byEntry.get(l.entry_id) ?? [];
      list.push(l);
      byEntry.set(l.entry_id, list);
    }
    return entries.rows.map((e) => ({
      id: toSafeInteger(e.id),
      postingKey: e.posting_key,
      kind: e.kind as EntryKind,
      currency: e.currency,
      hourMs: e.hour_ms === null ? null : toSafeInteger(e.hour_ms),
      advertiserId: e.advertiser_id,
      publisherId: e.publisher_id,
      memo: e.memo,
      createdBy: e.created_by,
      createdAt: new Date(e.created_at).toISOString(),
      lines: (byEntry.get(e.id) ?? []).map((l) => ({
        account: { kind: l.kind as AccountKind, ownerId: l.owner_id, currency: l.currency },
        amountMicros: toSafeInteger(l.amount),
      })),
    }));
  }

  async setCreditLimit(
    advertiserId: string,
    limit: { currency: string; creditLimitMicros: number } | null,
  ): Promise<void> {
    if (limit === null) {
      await sql`delete from billing_credit_limits where advertiser_id = ${advertiserId}`.execute(this.ctx.db);
      return;
    }
    await sql`insert into billing_credit_limits (advertiser_id, currency, credit_limit_micros, updated_at)
      values (${advertiserId}, ${limit.currency}, ${limit.creditLimitMicros}::int8, now())
      on conflict (advertiser_id) do update set currency = excluded.currency,
        credit_limit_micros = excluded.credit_limit_micros, updated_at = now()`.execute(this.ctx.db);
  }

  async creditLimits(advertiserIds?: readonly string[]): Promise<CreditLimit[]> {
    const where = advertiserIds ? sql`where advertiser_id = any(${[...advertiserIds]}::text[])` : sql``;
    const result = await sql<{
      advertiser_id: string;
      currency: string;
      limit: string;
      updated_at: Date | string;
    }>`select advertiser_id, currency, credit_limit_micros::text as limit, updated_at from billing_credit_limits ${where}
      order by advertiser_id`.execute(this.ctx.db);
    return result.rows.map((r) => ({
      advertiserId: r.advertiser_id,
      currency: r.currency,
      creditLimitMicros: toSafeInteger(r.limit),
      updatedAt: new Date(r.updated_at).toISOString(),
    }));
  }

  async exposures(): Promise<AdvertiserExposure[]> {
    // Unposted: rollup spend in the hours from the poster's watermark on (the current hour, or more when
    // the poster is behind); before it, the ledger balance has it.
    const result = await sql<{
      advertiser_id: string;
      currency: string;
      limit: string;
      balance: string;
      unposted: string;
    }>`with w as (
        select coalesce((select posted_through from billing_state where name = ${POSTER}), 'epoch'::timestamptz) as t)
      select c.advertiser_id, c.currency, c.credit_limit_micros::text as limit,
        coalesce(a.balance_micros, 0)::text as balance,
        coalesce((select sum(r.spend_micros) from rollup_hourly r left join line_items li on li.id = r.line_item_id
          where r.advertiser_id = c.advertiser_id and r.hour >= (select t from w)
            and coalesce(li.data->>'currency', (select currency from network where id = 1)) = c.currency), 0)::text
          as unposted
      from billing_credit_limits c
        left join ledger_accounts a on a.id = 'advertiser:' || c.advertiser_id || ':' || c.currency`.execute(
      this.ctx.db,
    );
    return result.rows.map((r) => ({
      advertiserId: r.advertiser_id,
      currency: r.currency,
      balanceMicros: toSafeInteger(r.balance),
      unpostedMicros: toSafeInteger(r.unposted),
      creditLimitMicros: toSafeInteger(r.limit),
    }));
  }

  async trialBalance(): Promise<TrialBalance> {
    const sums = await sql<{ currency: string; debits: string; credits: string }>`select currency,
        coalesce(sum(amount_micros) filter (where amount_micros > 0), 0)::text as debits,
        coalesce(-sum(amount_micros) filter (where amount_micros < 0), 0)::text as credits
      from ledger_lines group by currency order by currency`.execute(this.ctx.db);
    const mismatched = await sql<{ id: string }>`select a.id from ledger_accounts a
        left join (select account_id, sum(amount_micros) as s from ledger_lines group by account_id) l on l.account_id = a.id
      where a.balance_micros <> coalesce(l.s, 0) order by a.id`.execute(this.ctx.db);
    const lines = sums.rows.flatMap((r) => [
      { currency: r.currency, amountMicros: toSafeInteger(r.debits) },
      { currency: r.currency, amountMicros: -toSafeInteger(r.credits) },
    ]);
    return trialBalanceOf(
      lines,
      mismatched.rows.map((r) => r.id),
    );
  }
}

async function insertAccounts(trx: Db, accounts: readonly AccountRef[]): Promise<void> {
  const unique = new Map(accounts.map((a) => [accountId(a), a]));
  const list = [...unique.values()];
  if (list.length === 0) return;
  await sql`insert into ledger_accounts (id, kind, owner_id, currency)
    select * from unnest(${list.map(accountId)}::text[], ${list.map((a) => a.kind)}::text[],
      ${list.map((a) => a.ownerId)}::text[], ${list.map((a) => a.currency)}::text[])
    on conflict do nothing`.execute(trx);
}

async function insertLines(
  trx: Db,
  lines: readonly { entryId: string; account: AccountRef; amountMicros: number }[],
): Promise<void> {
  if (lines.length === 0) return;
  await sql`insert into ledger_lines (entry_id, account_id, currency, amount_micros)
    select * from unnest(${lines.map((l) => l.entryId)}::int8[], ${lines.map((l) => accountId(l.account))}::text[],
      ${lines.map((l) => l.account.currency)}::text[], ${lines.map((l) => l.amountMicros)}::int8[])`.execute(trx);
}

/** Inserts usage entries and their lines; keys posted before are skipped (their lines too). */
async function insertEntries(trx: Db, drafts: readonly JournalEntryDraft[]): Promise<number> {
  if (drafts.length === 0) return 0;
  const inserted = await sql<{ id: string; posting_key: string }>`insert into ledger_entries
      (posting_key, kind, currency, hour, advertiser_id, publisher_id, memo, created_by)
    select * from unnest(${drafts.map((d) => d.postingKey)}::text[], ${drafts.map((d) => d.kind)}::text[],
      ${drafts.map((d) => d.currency)}::text[], ${drafts.map((d) => (d.hourMs === null ? null : iso(d.hourMs)))}::timestamptz[],
      ${drafts.map((d) => d.advertiserId)}::text[], ${drafts.map((d) => d.publisherId)}::text[],
      ${drafts.map((d) => d.memo)}::text[], ${drafts.map(() => SYSTEM_ACTOR)}::text[])
    on conflict (posting_key) do nothing returning id::text as id, posting_key`.execute(trx);
  const ids = new Map(inserted.rows.map((r) => [r.posting_key, r.id]));
  const fresh = drafts.filter((d) => ids.has(d.postingKey));
  await insertAccounts(
    trx,
    fresh.flatMap((d) => d.lines.map((l) => l.account)),
  );
  await insertLines(
    trx,
    fresh.flatMap((d) =>
      d.lines.map((l) => ({ entryId: ids.get(d.postingKey)!, account: l.account, amountMicros: l.amountMicros })),
    ),
  );
  return fresh.length;
}

async function upsertPostings(trx: Db, rows: readonly UsageTotals[]): Promise<void> {
  await sql`insert into billing_postings (hour, advertiser_id, publisher_id, currency, spend_micros, revenue_micros)
    select * from unnest(${rows.map((r) => iso(r.hourMs))}::timestamptz[], ${rows.map((r) => r.advertiserId)}::text[],
      ${rows.map((r) => r.publisherId)}::text[], ${rows.map((r) => r.currency)}::text[],
      ${rows.map((r) => r.spendMicros)}::int8[], ${rows.map((r) => r.revenueMicros)}::int8[])
    on conflict (hour, advertiser_id, publisher_id, currency) do update
      set spend_micros = excluded.spend_micros, revenue_micros = excluded.revenue_micros`.execute(trx);
}
