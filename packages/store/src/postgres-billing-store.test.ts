/**
 * The ledger in SQL on both backends: posting and idempotency, the database's own balance check,
 * append-only history, usage posting from rollups with late deltas, exposures for credit limits, and a
 * property test over random rollups (the books balance to the micro and equal the rollups' sums).
 */
import { randomBytes } from 'node:crypto';
import { advertiserAccount, type JournalEntryDraft, networkAccount } from '@marquee/billing';
import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStoreWithDatabase } from './create-store.ts';
import type { Database } from './database.ts';
import { fixtures } from './fixtures.ts';
import type { RollupRow, Store, WriteResult } from './ports.ts';

const databaseUrl = process.env.MARQUEE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const HOUR = 3_600_000;
const BASE = Date.UTC(2026, 2, 1);
const actor = { userId: null, label: 'billing-test' };

function ok<T>(result: WriteResult<T>): T {
  if (result.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.entity;
}

const zero = {
  requests: 0,
  impressions: 0,
  viewableImpressions: 0,
  clicks: 0,
  conversions: 0,
  customEvents: 0,
  events: 0,
  spendMicros: 0,
  revenueMicros: 0,
  invalidEvents: 0,
};

describe.each(['pglite', 'postgres'] as const)('PostgresBillingStore (%s)', (backend) => {
  let store: Store;
  let db: Kysely<Database>;
  const schema = `billing_test_${process.pid}_${randomBytes(3).toString('hex')}`;
  let seq = 0;

  beforeAll(async () => {
    ({ store, db } = await openStoreWithDatabase(backend === 'postgres' ? { databaseUrl, schema } : {}));
  });
  afterAll(async () => {
    await store?.close();
    if (backend === 'postgres') {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
  });

  /** An advertiser with a line item in `currency`, and a publisher with a placement. */
  async function world(currency = 'USD') {
    const adv = ok(await store.repos.advertiser.create(fixtures.advertiser({ currency }), actor));
    const cmp = ok(await store.repos.campaign.create(fixtures.campaign(adv.id), actor));
    const li = ok(await store.repos.lineItem.create(fixtures.lineItem(adv.id, cmp.id, { currency }), actor));
    const pub = ok(await store.repos.publisher.create(fixtures.publisher(), actor));
    const site = ok(await store.repos.site.create(fixtures.site(pub.id), actor));
    const plc = ok(await store.repos.placement.create(fixtures.placement(pub.id, site.id), actor));
    return { adv, cmp, li, pub, site, plc };
  }

  type World = Awaited<ReturnType<typeof world>>;
  const row = (w: World, hourMs: number, m: Partial<RollupRow>): RollupRow => ({
    hourMs,
    advertiserId: w.adv.id,
    campaignId: w.cmp.id,
    lineItemId: w.li.id,
    creativeId: 'cr_1',
    publisherId: w.pub.id,
    siteId: w.site.id,
    placementId: w.plc.id,
    country: 'FR',
    deviceType: 'desktop',
    ...zero,
    ...m,
  });

  /** Adds rows to the rollups as the consumer would (its own consumer name, so positions never clash). */
  async function rollup(rows: RollupRow[]) {
    const name = `billing-test-${++seq}`;
    expect(await store.rollups.commit(name, '', 'p1', { rows, invalid: [], records: rows.length })).toBe('committed');
  }

  const payment = (advertiserId: string, amount: number, key: string): JournalEntryDraft => ({
    postingKey: key,
    kind: 'payment',
    currency: 'USD',
    hourMs: null,
    advertiserId,
    publisherId: null,
    memo: 'wire 42',
    lines: [
      { account: networkAccount('cash', 'USD'), amountMicros: amount },
      { account: advertiserAccount(advertiserId, 'USD'), amountMicros: -amount },
    ],
  });

  it('posts an entry once per posting key and keeps running balances', async () => {
    const { adv } = await world();
    const key = `payment:${randomBytes(6).toString('hex')}`;
    const first = await store.billing.post(payment(adv.id, 10_000_000, key), 'admin@example.com');
    expect(first.kind).toBe('posted');
    expect(first.entry.lines).toHaveLength(2);
    const again = await store.billing.post(payment(adv.id, 10_000_000, key), 'admin@example.com');
    expect(again).toEqual({ kind: 'exists', entry: first.entry });
    const balances = await store.billing.balances({ advertiserIds: [adv.id] });
    expect(balances).toEqual([
      {
        accountId: `advertiser:${adv.id}:USD`,
        kind: 'advertiser',
        ownerId: adv.id,
        currency: 'USD',
        balanceMicros: -10_000_000,
      },
    ]);
    const entries = await store.billing.entries({ advertiserIds: [adv.id], limit: 10 });
    expect(entries.map((e) => e.postingKey)).toEqual([key]);
    expect((await store.billing.trialBalance()).balanced).toBe(true);
  });

  it('refuses unbalanced entries in code and in the database, and never edits history', async () => {
    const { adv } = await world();
    const bad = payment(adv.id, 5, `bad:${randomBytes(4).toString('hex')}`);
    await expect(
      store.billing.post({ ...bad, lines: [bad.lines[0]!, { ...bad.lines[1]!, amountMicros: -4 }] }, 'x'),
    ).rejects.toThrow(RangeError);
    // Around the code: raw SQL writing an unbalanced entry is refused when the transaction commits.
    const key = `raw:${randomBytes(4).toString('hex')}`;
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`insert into ledger_accounts (id, kind, owner_id, currency) values ('cash::USD', 'cash', '', 'USD')
          on conflict do nothing`.execute(trx);
        const r = await sql<{ id: string }>`insert into ledger_entries (posting_key, kind, currency, created_by)
          values (${key}, 'payment', 'USD', 'raw') returning id::text as id`.execute(trx);
        await sql`insert into ledger_lines (entry_id, account_id, currency, amount_micros)
          values (${r.rows[0]!.id}::int8, 'cash::USD', 'USD', 7)`.execute(trx);
      }),
    ).rejects.toThrow(/does not balance/);
    // A line in another currency than its account is refused by the foreign key.
    await expect(
      db.transaction().execute(async (trx) => {
        const r = await sql<{ id: string }>`insert into ledger_entries (posting_key, kind, currency, created_by)
          values (${`${key}-eur`}, 'payment', 'EUR', 'raw') returning id::text as id`.execute(trx);
        await sql`insert into ledger_lines (entry_id, account_id, currency, amount_micros)
          values (${r.rows[0]!.id}::int8, 'cash::USD', 'EUR', 7)`.execute(trx);
      }),
    ).rejects.toThrow();
    await expect(sql`update ledger_lines set amount_micros = amount_micros + 1`.execute(db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`delete from ledger_entries`.execute(db)).rejects.toThrow(/append-only/);
    expect((await store.billing.trialBalance()).balanced).toBe(true);
  });

  it('posts usage from final rollup hours once, then a delta when an hour grows', async () => {
    const w = await world('EUR');
    const h = BASE + 100 * HOUR;
    await rollup([
      row(w, h, { impressions: 1000, events: 1000, spendMicros: 2_500_000, revenueMicros: 1_750_000 }),
      // Another country on the same hour and pair: one posting key for both.
      row(w, h, { country: 'DE', impressions: 4, events: 4, spendMicros: 10_000, revenueMicros: 7_000 }),
      // The next hour is not final yet (through = h + 1 hour).
      row(w, h + HOUR, { impressions: 10, events: 10, spendMicros: 25_000, revenueMicros: 17_500 }),
    ]);
    const lookbackMs = 1000 * HOUR;
    const run1 = await store.billing.postUsage({ throughMs: h + HOUR + 59 * 60_000, lookbackMs });
    expect(run1.throughMs).toBe(h + HOUR);
    const mine = () => store.billing.entries({ advertiserIds: [w.adv.id], limit: 100 });
    expect(await mine()).toHaveLength(1);
    const [usage] = await mine();
    expect(usage!.currency).toBe('EUR');
    expect(usage!.lines.map((l) => [l.account.kind, l.amountMicros])).toEqual([
      ['advertiser', 2_510_000],
      ['revenue', -753_000],
      ['publisher', -1_757_000],
    ]);
    // Re-running posts nothing.
    expect((await store.billing.postUsage({ throughMs: h + HOUR, lookbackMs })).entries).toBe(0);
    expect(await mine()).toHaveLength(1);
    // Late events grow the posted hour: a delta entry for the difference only; the next hour is now final too.
    await rollup([row(w, h, { impressions: 2, events: 2, spendMicros: 5_000, revenueMicros: 3_500 })]);
    expect((await store.billing.postUsage({ throughMs: h + 2 * HOUR, lookbackMs })).entries).toBe(2);
    const entries = await mine();
    expect(entries).toHaveLength(3);
    const delta = entries.find((e) => e.memo === 'late events (delta)')!;
    expect(delta.lines.find((l) => l.account.kind === 'advertiser')!.amountMicros).toBe(5_000);
    const balances = await store.billing.balances({ advertiserIds: [w.adv.id], publisherIds: [w.pub.id] });
    expect(balances.map((b) => [b.kind, b.balanceMicros])).toEqual([
      ['advertiser', 2_540_000],
      ['publisher', -1_778_000],
    ]);
    expect(await store.billing.postedUsage({ advertiserId: w.adv.id, fromMs: h, toMs: h + 2 * HOUR })).toEqual([
      { currency: 'EUR', spendMicros: 2_540_000, revenueMicros: 1_778_000 },
    ]);
    expect((await store.billing.trialBalance()).balanced).toBe(true);
  });

  it('exposures: ledger balance + unposted rollup spend against the credit limit', async () => {
    const w = await world();
    await store.billing.setCreditLimit(w.adv.id, { currency: 'USD', creditLimitMicros: 1_000_000 });
    await store.billing.post(payment(w.adv.id, 500_000, `pay:${randomBytes(4).toString('hex')}`), 'admin');
    // Far in the future: after every watermark other tests moved, so it counts as unposted.
    const h = BASE + 24 * 365 * HOUR;
    await rollup([row(w, h, { impressions: 1, events: 1, spendMicros: 300_000, revenueMicros: 0 })]);
    const mine = async () => (await store.billing.exposures()).find((e) => e.advertiserId === w.adv.id);
    expect(await mine()).toEqual({
      advertiserId: w.adv.id,
      currency: 'USD',
      balanceMicros: -500_000,
      unpostedMicros: 300_000,
      creditLimitMicros: 1_000_000,
    });
    expect((await store.billing.creditLimits([w.adv.id]))[0]!.creditLimitMicros).toBe(1_000_000);
    await store.billing.setCreditLimit(w.adv.id, null);
    expect(await mine()).toBeUndefined();
  });

  it('balances to the micro over random rollups posted in rounds (property)', async () => {
    const worlds = [await world('USD'), await world('USD'), await world('EUR')];
    const base = BASE + 24 * 200 * HOUR;
    let round = 0;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            w: fc.integer({ min: 0, max: 2 }),
            hour: fc.integer({ min: 0, max: 3 }),
            spend: fc.integer({ min: 0, max: 10_000_000_000 }),
            shareBps: fc.integer({ min: 0, max: 10_000 }),
          }),
          { maxLength: 12 },
        ),
        async (increments) => {
          round++;
          if (increments.length) {
            await rollup(
              increments.map((i) =>
                row(worlds[i.w]!, base + i.hour * HOUR, {
                  // A distinct device per round: rows of one batch never share a primary key.
                  deviceType: `d${round}-${n++}`,
                  impressions: 1,
                  events: 1,
                  spendMicros: i.spend,
                  revenueMicros: Math.floor((i.spend * i.shareBps) / 10_000),
                }),
              ),
            );
          }
          await store.billing.postUsage({ throughMs: base + 4 * HOUR, lookbackMs: 4 * HOUR });
          expect((await store.billing.trialBalance()).balanced).toBe(true);
          for (const w of worlds) {
            const sums = await store.rollups.query({
              dimensions: [],
              timeZone: 'UTC',
              fromMs: base,
              toMs: base + 4 * HOUR,
              filters: { advertiser: [w.adv.id] },
              maxGroups: 1,
            });
            const posted = await store.billing.postedUsage({
              advertiserId: w.adv.id,
              fromMs: base,
              toMs: base + 4 * HOUR,
            });
            expect(posted[0]?.spendMicros ?? 0).toBe(sums[0]?.measures.spendMicros ?? 0);
            const [bal] = await store.billing.balances({ advertiserIds: [w.adv.id] });
            expect(bal?.balanceMicros ?? 0).toBe(sums[0]?.measures.spendMicros ?? 0);
          }
        },
      ),
      { numRuns: 15 },
    );
  });
});
