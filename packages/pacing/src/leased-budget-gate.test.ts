import type { LineItem } from '@marquee/core';
import { buildServingSnapshot, decide, mulberry32, type ServingSnapshot } from '@marquee/decision';
import { describe, expect, it } from 'vitest';
import * as f from '../../decision/src/fixtures.ts';
import type { BudgetLeaseStore } from './budget-lease-store.ts';
import { BudgetPacing, dailyTarget, expectedServeCostMicros } from './budget-pacing.ts';
import { InMemoryBudgetLeaseStore } from './in-memory-budget-lease-store.ts';
import { impressionGoalScope } from './lease-scope.ts';
import { LeasedBudgetGate } from './leased-budget-gate.ts';

const T0 = Date.parse('2030-06-10T10:00:00Z');

function world(o: Partial<LineItem> = {}, campaign: { dailyBudgetMicros?: number } = {}): ServingSnapshot {
  return buildServingSnapshot(
    f.storeSnapshot({
      advertisers: [f.advertiser('adv_a')],
      campaigns: [f.campaign('cmp_a', 'adv_a', campaign)],
      creatives: [f.creative('cr_a', 'adv_a')],
      lineItems: [f.lineItem('li_a', 'adv_a', 'cmp_a', ['cr_a'], { rateMicros: 2_000_000, ...o })],
      publishers: [f.publisher('pub_1')],
      sites: [f.site('site_1', 'pub_1')],
      // First price: a serve costs the rate (2.00 CPM = 2,000 micros an impression).
      placements: [f.placement('plc_1', 'site_1', 'pub_1', { auction: 'first_price' })],
    }),
  );
}

const request = { placements: [{ placementId: 'plc_1' }] };

/** The in-memory store seen through the async port only, as a Redis store is: no reserveSync. */
function asyncOnly(store: InMemoryBudgetLeaseStore): BudgetLeaseStore {
  return {
    reserve: (...a) => store.reserve(...a),
    settle: (...a) => store.settle(...a),
    recordSpend: (...a) => store.recordSpend(...a),
    reconcile: (...a) => store.reconcile(...a),
    status: (...a) => store.status(...a),
    close: () => store.close(),
  };
}

/** Serves n requests through decide with the gate, debiting each ad; returns how many were filled. */
function serve(snapshot: ServingSnapshot, pacing: BudgetPacing, n: number, now: number, seed = 1): number {
  const gate = new LeasedBudgetGate(snapshot, pacing);
  const rng = mulberry32(seed);
  let filled = 0;
  for (let i = 0; i < n; i++) {
    const d = decide(request, snapshot, now, rng, { pacing: gate });
    const p = d.placements[0]!;
    if (p.kind !== 'filled') continue;
    filled++;
    for (const ad of p.ads) pacing.onServed(ad.lineItemId, expectedServeCostMicros(ad));
  }
  return filled;
}

describe('LeasedBudgetGate and BudgetPacing', () => {
  it('serves only from a lease, and a remote lease is taken in the background, not on the request path', async () => {
    const snapshot = world({ dailyBudgetMicros: 100_000 }); // 50 impressions at a 2.00 CPM
    const store = new InMemoryBudgetLeaseStore();
    const pacing = new BudgetPacing({ store: asyncOnly(store), snapshot: () => snapshot, maxLeaseShare: 1 });
    expect(serve(snapshot, pacing, 10, T0)).toBe(0); // no lease yet: refused, demand noted
    await pacing.refill(T0);
    expect(pacing.balance('li_a')).toBe(40_000); // the smallest lease: 20 serves
    expect(serve(snapshot, pacing, 100, T0)).toBe(20);
    let total = 20;
    for (let t = T0 + 1000; t < T0 + 20_000; t += 1000) {
      await pacing.refill(t);
      total += serve(snapshot, pacing, 100, t);
    }
    expect(total).toBe(50); // exactly the budget
    const s = await store.status('li_a', 'cmp_a', '2030-06-10', T0 + 20_000);
    expect(s.lineItemDay.availableMicros).toBe(0);
  });

  it('an in-process store grants the first lease on the spot', async () => {
    const snapshot = world({ dailyBudgetMicros: 10_000 });
    const store = new InMemoryBudgetLeaseStore();
    const pacing = new BudgetPacing({ store, snapshot: () => snapshot, maxLeaseShare: 1 });
    expect(serve(snapshot, pacing, 10, T0)).toBe(5);
    expect(serve(snapshot, pacing, 10, T0 + 1000)).toBe(0); // spent: the next lease has nothing to grant
    const s = await store.status('li_a', 'cmp_a', '2030-06-10', T0 + 1000);
    expect(s.lineItemDay).toMatchObject({ reservedMicros: 10_000, availableMicros: 0 });
  });

  it('a line item without budgets is not leased; unknown line items are refused', () => {
    const snapshot = world();
    const pacing = new BudgetPacing({ store: new InMemoryBudgetLeaseStore(), snapshot: () => snapshot });
    expect(serve(snapshot, pacing, 5, T0)).toBe(5);
    expect(new LeasedBudgetGate(snapshot, pacing).allow('li_nope', T0, mulberry32(1))).toBe(false);
  });

  it('campaign caps bind through the lease', async () => {
    const snapshot = world({ dailyBudgetMicros: 1_000_000 }, { dailyBudgetMicros: 10_000 });
    const pacing = new BudgetPacing({ store: new InMemoryBudgetLeaseStore(), snapshot: () => snapshot });
    let total = 0;
    for (let t = T0; t < T0 + 10_000; t += 1000) {
      await pacing.refill(t);
      total += serve(snapshot, pacing, 100, t);
    }
    expect(total).toBe(5);
  });

  it('a campaign lifetime cap binds over its line items together, across two workers', async () => {
    // Two line items of one campaign, each with room for 100 serves; the campaign for 60 (120,000 micros).
    const snapshot = buildServingSnapshot(
      f.storeSnapshot({
        advertisers: [f.advertiser('adv_a')],
        campaigns: [f.campaign('cmp_a', 'adv_a', { lifetimeBudgetMicros: 120_000 })],
        creatives: [f.creative('cr_a', 'adv_a')],
        lineItems: ['li_a', 'li_b'].map((id) =>
          f.lineItem(id, 'adv_a', 'cmp_a', ['cr_a'], { rateMicros: 2_000_000, lifetimeBudgetMicros: 200_000 }),
        ),
        publishers: [f.publisher('pub_1')],
        sites: [f.site('site_1', 'pub_1')],
        placements: [f.placement('plc_1', 'site_1', 'pub_1', { auction: 'first_price' })],
      }),
    );
    const store = new InMemoryBudgetLeaseStore();
    const workers = [0, 1].map(() => new BudgetPacing({ store: asyncOnly(store), snapshot: () => snapshot }));
    let total = 0;
    for (let t = T0; t < T0 + 30_000; t += 1000) {
      for (const [i, w] of workers.entries()) {
        await w.refill(t);
        total += serve(snapshot, w, 50, t, i + t);
      }
    }
    expect(total).toBe(60);
    const a = await store.status('li_a', 'cmp_a', '2030-06-10', T0 + 30_000);
    const b = await store.status('li_b', 'cmp_a', '2030-06-10', T0 + 30_000);
    expect(a.campaignLifetime.availableMicros).toBe(0);
    expect(a.lineItemLifetime.reservedMicros + b.lineItemLifetime.reservedMicros).toBe(120_000);
  });

  it('impression goals are leased in impressions, one per serve, and stop delivery at the goal', async () => {
    const snapshot = world({ dailyImpressionGoal: 37, lifetimeImpressionGoal: 1000 });
    const store = new InMemoryBudgetLeaseStore();
    const spend = new BudgetPacing({ store, snapshot: () => snapshot });
    const workers = [0, 1, 2].map(() => ({
      goals: new BudgetPacing({ store: asyncOnly(store), snapshot: () => snapshot, scope: impressionGoalScope }),
    }));
    let total = 0;
    for (let t = T0; t < T0 + 20_000; t += 1000) {
      for (const [i, w] of workers.entries()) {
        await w.goals.refill(t);
        const gate = new LeasedBudgetGate(snapshot, spend, undefined, [w.goals]);
        const rng = mulberry32(i + t);
        for (let k = 0; k < 10; k++) {
          const d = decide(request, snapshot, t, rng, { pacing: gate });
          if (d.placements[0]!.kind !== 'filled') continue;
          total++;
          w.goals.onServed('li_a', 1);
        }
      }
    }
    expect(total).toBe(37);
    const s = await store.status('li_a#impressions', 'li_a#impressions', '2030-06-10', T0 + 20_000);
    expect(s.lineItemDay).toMatchObject({ limitMicros: 37, availableMicros: 0 });
    // Money is untouched by the goal's units.
    const m = await store.status('li_a', 'cmp_a', '2030-06-10', T0 + 20_000);
    expect(m.lineItemDay.reservedMicros).toBe(0);
  });

  it('applies the pass-through rate with the rng it is given', async () => {
    const snapshot = world({ dailyBudgetMicros: 1_000_000_000, pacing: 'even' });
    const store = new InMemoryBudgetLeaseStore();
    const pacing = new BudgetPacing({ store, snapshot: () => snapshot, controller: { beta: 3 } });
    serve(snapshot, pacing, 1, T0);
    await pacing.refill(T0);
    await pacing.control(T0);
    // A burst far beyond the day's plan, reported as spent: the controller throttles.
    await store.recordSpend('li_a', 'cmp_a', '2030-06-10', 900_000_000, T0);
    await pacing.control(T0 + 60_000);
    await pacing.refill(T0 + 60_000);
    const rate = pacing.rate('li_a');
    expect(rate).toBe(0.25);
    expect(pacing.views()[0]).toMatchObject({ lineItemId: 'li_a', status: 'ahead' });
    const gate = new LeasedBudgetGate(snapshot, pacing);
    const rng = mulberry32(9);
    let passed = 0;
    for (let i = 0; i < 4000; i++) if (gate.allow('li_a', T0 + 60_000, rng)) passed++;
    expect(passed / 4000).toBeGreaterThan(0.22);
    expect(passed / 4000).toBeLessThan(0.28);
  });

  it('keys daily budgets by the local day of the line item zone and leases again after local midnight', async () => {
    // 23:59:30 in Tokyo is 14:59:30 UTC.
    const beforeMidnight = Date.parse('2030-06-10T14:59:30Z');
    const snapshot = world({ dailyBudgetMicros: 10_000, timeZone: 'Asia/Tokyo' });
    const store = new InMemoryBudgetLeaseStore();
    const pacing = new BudgetPacing({ store: asyncOnly(store), snapshot: () => snapshot, maxLeaseShare: 1 });
    serve(snapshot, pacing, 1, beforeMidnight);
    await pacing.refill(beforeMidnight);
    expect(serve(snapshot, pacing, 100, beforeMidnight)).toBe(5);
    const after = beforeMidnight + 31_000;
    expect(serve(snapshot, pacing, 100, after)).toBe(0); // yesterday's lease does not serve today
    await pacing.refill(after);
    expect(serve(snapshot, pacing, 100, after)).toBe(5);
    expect((await store.status('li_a', 'cmp_a', '2030-06-10', after)).lineItemDay.heldMicros).toBe(10_000);
    expect((await store.status('li_a', 'cmp_a', '2030-06-11', after)).lineItemDay.reservedMicros).toBe(10_000);
  });

  it('gives idle leases back and settles everything on close', async () => {
    const snapshot = world({ dailyBudgetMicros: 1_000_000 });
    const store = new InMemoryBudgetLeaseStore();
    const pacing = new BudgetPacing({ store: asyncOnly(store), snapshot: () => snapshot, idleMs: 5000 });
    serve(snapshot, pacing, 1, T0);
    await pacing.refill(T0);
    serve(snapshot, pacing, 3, T0);
    expect(pacing.outstandingLeaseMicros()).toBe(10_000); // 1% of the budget at most
    await pacing.refill(T0 + 6000);
    expect(pacing.outstandingLeaseMicros()).toBe(0);
    const s = await store.status('li_a', 'cmp_a', '2030-06-10', T0 + 6000);
    expect([s.lineItemDay.reservedMicros, s.lineItemDay.heldMicros]).toEqual([6000, 6000]);
  });

  it('many workers, some killed mid-lease: spend stays within budget + outstanding leases', async () => {
    const B = 100_000_000;
    const snapshot = world({ dailyBudgetMicros: B });
    const store = new InMemoryBudgetLeaseStore({ leaseTtlMs: 30_000, holdMs: 120_000 });
    const workers = Array.from({ length: 8 }, () => ({
      pacing: new BudgetPacing({ store, snapshot: () => snapshot, maxLeaseShare: 0.02, leaseTtlMs: 30_000 }),
      alive: true,
    }));
    const rng = mulberry32(3);
    let actual = 0;
    let lostLeases = 0;
    for (let t = T0; t < T0 + 900_000; t += 1000) {
      if (t === T0 + 60_000 || t === T0 + 120_000) {
        const victim = workers.find((w) => w.alive)!;
        lostLeases += victim.pacing.outstandingLeaseMicros();
        victim.alive = false; // no settle, no flush: gone
      }
      const live = workers.filter((w) => w.alive);
      for (const w of live) {
        const gate = new LeasedBudgetGate(snapshot, w.pacing);
        for (let i = 0; i < 20; i++) {
          const p = decide(request, snapshot, t, rng, { pacing: gate }).placements[0]!;
          if (p.kind !== 'filled') continue;
          const cost = expectedServeCostMicros(p.ads[0]!);
          w.pacing.onServed('li_a', cost);
          actual += cost; // billed at once, through a random live worker's tracking
          live[Math.floor(rng() * live.length)]!.pacing.onSpend('li_a', '2030-06-10', cost);
        }
      }
      for (const w of live) await w.pacing.refill(t);
    }
    expect(lostLeases).toBeGreaterThan(0);
    expect(actual).toBeLessThanOrEqual(B + lostLeases);
    expect(actual).toBeGreaterThan(B * 0.98);
  });

  it('paces a lifetime budget over the days left in the flight', () => {
    const snapshot = world({ lifetimeBudgetMicros: 10_000_000, endAt: '2030-06-20T10:00:00.000Z' });
    const sli = snapshot.lineItemById.get('li_a')!;
    expect(dailyTarget(sli, 0, T0)).toBe(1_000_000);
    expect(dailyTarget(sli, 4_000_000, T0)).toBe(600_000);
    expect(dailyTarget(world({ lifetimeBudgetMicros: 5 }).lineItemById.get('li_a')!, 0, T0)).toBe(null);
  });
});
