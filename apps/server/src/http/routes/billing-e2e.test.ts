/**
 * Billing end to end on both backends: a prepaid advertiser with no credit is served through the real
 * decision API, its impressions (one replayed, so invalid) go through the signed tracking URLs, the rollup
 * consumer the app runs aggregates them, the poster posts them to the ledger, and the billing gate stops
 * the advertiser once its prepaid funds are used up. Invoices and statements equal the reports' sums.
 */
import { describe, expect, it } from 'vitest';
import { billingOf, servingOf } from '../../app.ts';
import { createTestApp } from '../../testing/test-app.ts';
import { decide, pathOf, seedWorld } from '../../tracking/tracking-world.ts';

const IMPRESSION = 4_000; // 4 USD CPM

describe.each(['pglite', 'postgres'] as const)('billing end to end (%s)', (backend) => {
  it('decision -> impressions -> rollups -> ledger -> the gate stops the advertiser; documents equal reports', async () => {
    const t = await createTestApp({ backend });
    try {
      const w = await seedWorld(t.store);
      const { seq } = await t.store.feed.loadSnapshot();
      expect(await servingOf(t.app).state.waitFor(seq)).toBe(true);
      const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
        t.app.inject({ method, url: `/api/v1${url}`, headers: t.admin.headers, ...(payload ? { payload } : {}) });

      // Prepaid only: no credit, 10,000 micros paid in (two and a half impressions).
      expect(
        (await api('PUT', `/billing/credit-limits/${w.advA}`, { creditLimitMicros: 0, currency: 'USD' })).statusCode,
      ).toBe(200);
      expect((await billingOf(t.app).refresh()).has(w.advA)).toBe(true);
      const paid = await api('POST', '/billing/payments', {
        advertiserId: w.advA,
        amountMicros: 10_000,
        currency: 'USD',
        reference: 'wire 1',
        idempotencyKey: 'e2e-pay-1',
      });
      expect(paid.statusCode, paid.body).toBe(201);
      expect((await billingOf(t.app).refresh()).has(w.advA)).toBe(false);

      // Three impressions (12,000 micros) and a replay of the first one (a duplicate: invalid, never billed).
      const urls: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { ad } = await decide(t.app, w.placements.cpm, `user-${i}`);
        expect(ad?.lineItemId).toBe(w.lineItems.cpm);
        urls.push(pathOf(ad!.tracking.impression));
      }
      for (const url of [...urls, urls[0]!]) expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(200);
      const { ad: beta } = await decide(t.app, w.placements.b);
      await t.app.inject({ method: 'GET', url: pathOf(beta!.tracking.impression) });

      const rollup = async () =>
        (
          await t.store.rollups.query({
            dimensions: ['advertiser'],
            timeZone: 'UTC',
            fromMs: 0,
            toMs: Date.now() + 86_400_000,
            filters: { advertiser: [w.advA] },
            maxGroups: 10,
          })
        )[0]?.measures;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const m = await rollup();
        if (m && m.impressions === 3 && m.invalidEvents >= 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const measures = (await rollup())!;
      expect(measures.impressions).toBe(3);
      expect(measures.invalidEvents).toBeGreaterThanOrEqual(1);
      expect(measures.spendMicros).toBe(3 * IMPRESSION);

      // Before posting, the gate counts the unposted spend already: 12,000 > 10,000 prepaid.
      expect((await billingOf(t.app).refresh()).has(w.advA)).toBe(true);
      // Posting every hour up to the next one (the current hour, settled or not); then again: nothing new.
      const run = await billingOf(t.app).postUsage(Date.now() + 3_600_000);
      expect(run.entries).toBeGreaterThanOrEqual(2); // advertisers A and B
      expect((await billingOf(t.app).postUsage(Date.now() + 3_600_000)).entries).toBe(0);
      const stopped = await billingOf(t.app).refresh();
      expect(stopped.has(w.advA)).toBe(true);
      expect(stopped.has(w.advB)).toBe(false);

      // Delivery stops for A; B still serves.
      expect((await decide(t.app, w.placements.cpm, 'user-9')).ad).toBeUndefined();
      expect((await decide(t.app, w.placements.b, 'user-9')).ad?.lineItemId).toBe(w.lineItems.b);

      const balances = (await api('GET', `/billing/balances?advertiserId=${w.advA}`)).json();
      expect(balances.accounts).toEqual([
        expect.objectContaining({ kind: 'advertiser', ownerId: w.advA, balanceMicros: 3 * IMPRESSION - 10_000 }),
      ]);
      expect(balances.credit).toEqual([
        expect.objectContaining({ advertiserId: w.advA, availableMicros: 10_000 - 3 * IMPRESSION, stopped: true }),
      ]);

      // The invoice and the statement of this month equal the reports over the same month.
      const now = new Date();
      const month = now.toISOString().slice(0, 7);
      const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).toISOString().slice(0, 10);
      const report = async (measures: string, filter: string) =>
        (
          await api(
            'GET',
            `/reports?measures=${measures}&dimensions=month&from=${month}-01&to=${last}&timeZone=UTC&filters=${filter}`,
          )
        ).json().totals;
      const invoice = (await api('GET', `/billing/invoices?advertiserId=${w.advA}&month=${month}`)).json();
      const advTotals = await report('impressions,clicks,conversions,spend', `advertiser:${w.advA}`);
      expect(invoice.totals).toEqual([
        {
          currency: 'USD',
          impressions: advTotals.impressions,
          clicks: advTotals.clicks,
          conversions: advTotals.conversions,
          spendMicros: advTotals.spend_micros,
          adjustmentsMicros: 0,
          totalMicros: advTotals.spend_micros,
          paymentsMicros: 10_000,
          postedMicros: advTotals.spend_micros,
        },
      ]);
      expect(invoice.lines).toEqual([
        expect.objectContaining({ lineItemId: w.lineItems.cpm, impressions: 3, spendMicros: 3 * IMPRESSION }),
      ]);
      const statement = (await api('GET', `/billing/statements?publisherId=${w.publisher}&month=${month}`)).json();
      const pubTotals = await report('impressions,revenue', `publisher:${w.publisher}`);
      expect(statement.totals).toEqual([
        expect.objectContaining({
          currency: 'USD',
          impressions: pubTotals.impressions,
          revenueMicros: pubTotals.revenue_micros,
          postedMicros: pubTotals.revenue_micros,
        }),
      ]);
      expect(pubTotals.revenue_micros).toBeGreaterThan(0);

      // The books balance to the micro, and the ledger charged exactly the valid spend.
      expect((await t.store.billing.trialBalance()).balanced).toBe(true);
      const [spent] = await t.store.billing.postedUsage({
        advertiserId: w.advA,
        fromMs: 0,
        toMs: Date.now() + 7_200_000,
      });
      expect(spent?.spendMicros).toBe(3 * IMPRESSION);

      // A payment of 5,000 more brings A back into delivery.
      await api('POST', '/billing/payments', { advertiserId: w.advA, amountMicros: 5_000, currency: 'USD' });
      expect((await billingOf(t.app).refresh()).has(w.advA)).toBe(false);
      expect((await decide(t.app, w.placements.cpm, 'user-10')).ad?.lineItemId).toBe(w.lineItems.cpm);
    } finally {
      await t.close();
    }
  });
});
