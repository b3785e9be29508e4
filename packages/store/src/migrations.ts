/**
 * The schema, as ordered migrations. Each is a list of statements (PGlite's extended protocol runs one
 * statement per query). Applied at open inside one transaction holding an advisory lock, so two
 * processes starting together on the same database do not race; applied ids are recorded in
 * `marquee_migrations`, so opening again is a no-op. Never edit a shipped migration: add a new one.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from './database.ts';

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly statements: readonly string[];
}

/** Columns every managed entity table has; `data` holds the whole entity (the API document). */
const entityColumns = `
  id text primary key,
  name text not null,
  status text not null,
  version integer not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  data jsonb not null`;

/** Keyset pagination indexes: every sort is (column, id), optionally under a tenant column. */
function sortIndexes(table: string, prefix?: string): string[] {
  const lead = prefix ? `${prefix}, ` : '';
  const tag = prefix ? `_${prefix}` : '';
  return [
    ...(prefix ? [`create index ${table}${tag}_id_idx on ${table} (${prefix}, id)`] : []),
    `create index ${table}${tag}_name_idx on ${table} (${lead}name, id)`,
    `create index ${table}${tag}_created_idx on ${table} (${lead}created_at, id)`,
    `create index ${table}${tag}_updated_idx on ${table} (${lead}updated_at, id)`,
    `create index ${table}${tag}_status_idx on ${table} (${lead}status, id)`,
  ];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'initial schema',
    statements: [
      `create table network (
        id integer primary key check (id = 1),
        name text not null,
        currency text not null,
        time_zone text not null,
        version integer not null default 1,
        updated_at timestamptz not null default now())`,
      `insert into network (id, name, currency, time_zone) values (1, 'Marquee Network', 'USD', 'UTC')`,

      `create table advertisers (${entityColumns})`,
      ...sortIndexes('advertisers'),

      `create table campaigns (${entityColumns}, advertiser_id text not null)`,
      ...sortIndexes('campaigns'),
      ...sortIndexes('campaigns', 'advertiser_id'),

      `create table line_items (${entityColumns},
        advertiser_id text not null, campaign_id text not null, priority text not null)`,
      ...sortIndexes('line_items'),
      ...sortIndexes('line_items', 'advertiser_id'),
      `create index line_items_campaign_id_idx on line_items (campaign_id, id)`,
      `create index line_items_priority_idx on line_items (priority, id)`,

      `create table creatives (${entityColumns}, advertiser_id text not null, kind text not null)`,
      ...sortIndexes('creatives'),
      ...sortIndexes('creatives', 'advertiser_id'),
      `create index creatives_kind_idx on creatives (kind, id)`,

      `create table publishers (${entityColumns})`,
      ...sortIndexes('publishers'),

      `create table sites (${entityColumns}, publisher_id text not null, kind text not null)`,
      ...sortIndexes('sites'),
      ...sortIndexes('sites', 'publisher_id'),

      `create table placements (${entityColumns}, publisher_id text not null, site_id text not null)`,
      ...sortIndexes('placements'),
      ...sortIndexes('placements', 'publisher_id'),
      `create index placements_site_id_idx on placements (site_id, id)`,

      // advertiser_id null: a network-wide segment.
      `create table audiences (${entityColumns}, advertiser_id text, key text not null)`,
      `create unique index audiences_key_key on audiences ((coalesce(advertiser_id, '')), key)`,
      ...sortIndexes('audiences'),
      ...sortIndexes('audiences', 'advertiser_id'),

      `create table users (${entityColumns}, email text not null, role text not null, password_hash text)`,
      `create unique index users_email_key on users (lower(email))`,
      ...sortIndexes('users'),
      `create index users_role_idx on users (role, id)`,

      `create table sessions (
        id text primary key,
        user_id text not null references users (id) on delete cascade,
        csrf_token text not null,
        expires_at timestamptz not null,
        created_at timestamptz not null default now())`,
      `create index sessions_user_idx on sessions (user_id)`,
      `create index sessions_expires_idx on sessions (expires_at)`,

      `create table api_keys (
        id text primary key,
        user_id text not null references users (id) on delete cascade,
        name text not null,
        prefix text not null,
        scope text not null,
        status text not null,
        hash text not null,
        version integer not null,
        last_used_at timestamptz,
        expires_at timestamptz,
        created_at timestamptz not null,
        updated_at timestamptz not null)`,
      `create unique index api_keys_hash_key on api_keys (hash)`,
      `create index api_keys_user_idx on api_keys (user_id, id)`,

      `create table assets (
        id text primary key,
        advertiser_id text not null,
        sha256 text not null,
        data jsonb not null,
        created_at timestamptz not null)`,
      `create unique index assets_sha_key on assets (advertiser_id, sha256)`,
      `create index assets_advertiser_idx on assets (advertiser_id, id)`,

      `create table audit_log (
        id bigserial primary key,
        at timestamptz not null,
        actor text not null,
        user_id text,
        api_key_id text,
        request_id text,
        action text not null,
        kind text not null,
        entity_id text not null,
        before jsonb,
        after jsonb,
        advertiser_id text,
        publisher_id text)`,
      `create index audit_log_entity_idx on audit_log (kind, entity_id, id)`,
      `create index audit_log_user_idx on audit_log (user_id, id)`,

      `create table changes (
        seq bigserial primary key,
        kind text not null,
        entity_id text not null,
        op text not null,
        entity jsonb not null,
        at timestamptz not null)`,
    ],
  },
  {
    id: 2,
    name: 'hourly rollups of tracking events',
    statements: [
      // One row per UTC hour and dimension tuple. Ids that do not apply are '' (never NULL) so the
      // primary key is the upsert target. Money columns are int8 micros.
      `create table rollup_hourly (
        hour timestamptz not null,
        advertiser_id text not null,
        campaign_id text not null,
        line_item_id text not null,
        creative_id text not null,
        publisher_id text not null,
        site_id text not null,
        placement_id text not null,
        country text not null,
        device_type text not null,
        requests int8 not null default 0,
        impressions int8 not null default 0,
        viewable_impressions int8 not null default 0,
        clicks int8 not null default 0,
        conversions int8 not null default 0,
        custom_events int8 not null default 0,
        events int8 not null default 0,
        spend_micros int8 not null default 0,
        revenue_micros int8 not null default 0,
        invalid_events int8 not null default 0,
        primary key (hour, advertiser_id, campaign_id, line_item_id, creative_id, publisher_id, site_id,
          placement_id, country, device_type))`,
      `create index rollup_hourly_advertiser_idx on rollup_hourly (advertiser_id, hour)`,
      `create index rollup_hourly_publisher_idx on rollup_hourly (publisher_id, hour)`,
      `create index rollup_hourly_line_item_idx on rollup_hourly (line_item_id, hour)`,
      // Invalid events by reason: a table of its own (not a jsonb map) so "invalid by reason" is a plain
      // GROUP BY with the same filters and upserts as every other measure.
      `create table rollup_invalid_hourly (
        hour timestamptz not null,
        advertiser_id text not null,
        campaign_id text not null,
        line_item_id text not null,
        creative_id text not null,
        publisher_id text not null,
        site_id text not null,
        placement_id text not null,
        country text not null,
        device_type text not null,
        reason text not null,
        events int8 not null default 0,
        primary key (hour, advertiser_id, campaign_id, line_item_id, creative_id, publisher_id, site_id,
          placement_id, country, device_type, reason))`,
      `create index rollup_invalid_hourly_advertiser_idx on rollup_invalid_hourly (advertiser_id, hour)`,
      `create index rollup_invalid_hourly_publisher_idx on rollup_invalid_hourly (publisher_id, hour)`,
      // Where each rollup consumer is in the event log, committed with the aggregates (exactly once).
      `create table rollup_positions (
        consumer text primary key,
        position text not null,
        events int8 not null default 0,
        updated_at timestamptz not null default now())`,
    ],
  },
  {
    id: 3,
    name: 'billing ledger',
    statements: [
      // Double-entry ledger (docs/billing.md). Amounts are int8 micros; debit > 0, credit < 0.
      `create table ledger_accounts (
        id text primary key,
        kind text not null check (kind in ('advertiser', 'publisher', 'revenue', 'cash', 'adjustments')),
        owner_id text not null,
        currency text not null check (currency ~ '^[A-Z]{3}$'),
        balance_micros int8 not null default 0,
        created_at timestamptz not null default now(),
        unique (id, currency),
        unique (kind, owner_id, currency))`,
      `create index ledger_accounts_owner_idx on ledger_accounts (owner_id)`,
      `create table ledger_entries (
        id int8 generated always as identity primary key,
        posting_key text not null unique,
        kind text not null check (kind in ('usage', 'payment', 'adjustment')),
        currency text not null check (currency ~ '^[A-Z]{3}$'),
        hour timestamptz,
        advertiser_id text,
        publisher_id text,
        memo text not null default '',
        created_by text not null,
        created_at timestamptz not null default now(),
        unique (id, currency))`,
      `create index ledger_entries_advertiser_idx on ledger_entries (advertiser_id, id)`,
      `create index ledger_entries_publisher_idx on ledger_entries (publisher_id, id)`,
      `create index ledger_entries_created_idx on ledger_entries (created_at)`,
      // The composite foreign keys make every line's currency that of its entry and of its account.
      `create table ledger_lines (
        entry_id int8 not null,
        account_id text not null,
        currency text not null,
        amount_micros int8 not null check (amount_micros <> 0),
        primary key (entry_id, account_id),
        foreign key (entry_id, currency) references ledger_entries (id, currency),
        foreign key (account_id, currency) references ledger_accounts (id, currency))`,
      `create index ledger_lines_account_idx on ledger_lines (account_id, entry_id)`,
      // Checked at COMMIT (deferred): every entry has at least two lines summing to exactly zero, however
      // the rows were written. The code checks it first (entryProblems); this is the database's word.
      `create function ledger_check_entry() returns trigger language plpgsql as $$
      declare
        entry int8;
        total numeric;
        n int;
      begin
        if tg_table_name = 'ledger_entries' then entry := new.id; else entry := new.entry_id; end if;
        select coalesce(sum(amount_micros), 0), count(*) into total, n from ledger_lines where entry_id = entry;
        if n < 2 or total <> 0 then
          raise exception 'ledger entry % does not balance (% lines, sum %)', entry, n, total using errcode = '23514';
        end if;
        return null;
      end $$`,
      `create constraint trigger ledger_lines_balanced after insert on ledger_lines
        deferrable initially deferred for each row execute function ledger_check_entry()`,
      `create constraint trigger ledger_entries_balanced after insert on ledger_entries
        deferrable initially deferred for each row execute function ledger_check_entry()`,
      // Running balances move with the lines, in the same transaction.
      `create function ledger_apply_line() returns trigger language plpgsql as $$
      begin
        update ledger_accounts set balance_micros = balance_micros + new.amount_micros where id = new.account_id;
        return null;
      end $$`,
      `create trigger ledger_lines_apply after insert on ledger_lines for each row execute function ledger_apply_line()`,
      // Append-only: a mistake is corrected by another entry, never by editing history.
      `create function ledger_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'the ledger is append-only (% on %)', tg_op, tg_table_name using errcode = '42501';
      end $$`,
      `create trigger ledger_entries_append_only before update or delete on ledger_entries
        for each row execute function ledger_append_only()`,
      `create trigger ledger_lines_append_only before update or delete on ledger_lines
        for each row execute function ledger_append_only()`,
      // What the usage poster has posted per (hour, advertiser, publisher, currency): cumulative totals.
      `create table billing_postings (
        hour timestamptz not null,
        advertiser_id text not null,
        publisher_id text not null,
        currency text not null,
        spend_micros int8 not null,
        revenue_micros int8 not null,
        primary key (hour, advertiser_id, publisher_id, currency))`,
      `create index billing_postings_advertiser_idx on billing_postings (advertiser_id, hour)`,
      // Hours before posted_through have been posted (as of the poster's last run).
      `create table billing_state (
        name text primary key,
        posted_through timestamptz not null,
        updated_at timestamptz not null default now())`,
      `create table billing_credit_limits (
        advertiser_id text primary key,
        currency text not null check (currency ~ '^[A-Z]{3}$'),
        credit_limit_micros int8 not null check (credit_limit_micros >= 0),
        updated_at timestamptz not null default now())`,
    ],
  },
];

/** Applies the migrations not yet recorded, in order, in one transaction. */
export async function migrate(db: Kysely<Database>, lockKey: readonly [number, number]): Promise<number[]> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${lockKey[0]}::int4, ${lockKey[1]}::int4)`.execute(trx);
    await sql`create table if not exists marquee_migrations (
      id integer primary key,
      name text not null,
      applied_at timestamptz not null default now())`.execute(trx);
    const done = new Set((await trx.selectFrom('marquee_migrations').select('id').execute()).map((r) => r.id));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.id)) continue;
      for (const statement of migration.statements) await sql.raw(statement).execute(trx);
      await trx.insertInto('marquee_migrations').values({ id: migration.id, name: migration.name }).execute();
      applied.push(migration.id);
    }
    return applied;
  });
}
