/**
 * The contract every BudgetLeaseStore passes: run by the in-memory and the Redis test files, so
 * the two cannot drift. `client()` opens another client of the SAME store (another worker).
 */

import { mulberry32 } from '@marquee/decision';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { BudgetLeaseStore, LeaseBudget } from './budget-lease-store.ts';

/**
 * A year or so ahead: Redis expires day keys by its own clock (PEXPIREAT now + 8 days), so the
 * stores' `now` must not lie in the past. No result depends on the wall clock.
 */
export const T0 = (Math.floor((Date.now() + 365 * 86_400_000) / 86_400_000) + 1) * 86_400_000;
const TTL = 30_000;
const HOLD = 120_000;
const DAY = '2030-01-01';

export interface ContractTarget {
  /** A store with leaseTtlMs 30 s and holdMs 120 s. */
  create(): Promise<BudgetLeaseStore>;
  /** Another client of the store create() returned last (in memory: the same object). */
  client(): Promise<BudgetLeaseStore>;
}

export function runBudgetLeaseStoreContract(name: string, target: ContractTarget): void {
  describe(`BudgetLeaseStore contract: ${name}`, () => {
    let store: BudgetLeaseStore;
    let n = 0;
    let li: string;
    let cmp: string;
    const budget = (o: Partial<LeaseBudget> = {}): LeaseBudget => ({
      campaignId: cmp,
      lineItemDailyMicros: 1_000_000,
      lineItemLifetimeMicros: null,
      campaignDailyMicros: null,
      campaignLifetimeMicros: null,
      ...o,
    });
    beforeEach(async () => {
      store ??= await target.create();
      // Fresh ids per test: no cleanup between tests, any order works.
      n++;
      li = `li_${n}`;
      cmp = `cmp_${n}_${name}`;
    });
    afterAll(async () => {
      await store?.close();
    });

    it('grants up to the smallest room left under every cap', async () => {
      const a = await store.reserve(li, DAY, 600_000, budget(), T0);
      expect(a.grantedMicros).toBe(600_000);
      expect(a.id).not.toBe('');
      const b = await store.reserve(li, DAY, 600_000, budget(), T0);
      expect(b.grantedMicros).toBe(400_000);
      const c = await store.reserve(li, DAY, 1, budget(), T0);
      expect(c).toMatchObject({ id: '', grantedMicros: 0 });
      // The campaign's caps bind a sibling line item too.
      const tight = budget({ lineItemDailyMicros: null, campaignDailyMicros: 1_500_000 });
      expect((await store.reserve(`${li}b`, DAY, 900_000, tight, T0)).grantedMicros).toBe(500_000);
      const life = budget({ lineItemDailyMicros: null, lineItemLifetimeMicros: 200_000 });
      expect((await store.reserve(`${li}c`, DAY, 900_000, life, T0)).grantedMicros).toBe(200_000);
      const s = await store.status(li, cmp, DAY, T0);
      expect(s.lineItemDay).toEqual({
        limitMicros: 1_000_000,
        spentMicros: 0,
        reservedMicros: 1_000_000,
        heldMicros: 0,
        availableMicros: 0,
      });
      expect(s.campaignDay.reservedMicros).toBe(1_700_000);
    });

    it('grants what is asked when no cap applies', async () => {
      const open = budget({ lineItemDailyMicros: null });
      expect((await store.reserve(li, DAY, 5_000_000_000, open, T0)).grantedMicros).toBe(5_000_000_000);
    });

    it('holds the used part of a settled lease for the in-flight window, releases the rest', async () => {
      const a = await store.reserve(li, DAY, 1_000_000, budget(), T0);
      expect(await store.settle(a, 300_000, T0 + 1000)).toBe(700_000);
      let s = (await store.status(li, cmp, DAY, T0 + 1000)).lineItemDay;
      expect([s.reservedMicros, s.heldMicros, s.availableMicros]).toEqual([300_000, 300_000, 700_000]);
      // Settling again changes nothing.
      expect(await store.settle(a, 300_000, T0 + 2000)).toBe(0);
      expect((await store.status(li, cmp, DAY, T0 + 2000)).lineItemDay.reservedMicros).toBe(300_000);
      // Tracking reports the actual spend; the hold expires after the window.
      await store.recordSpend(li, cmp, DAY, 290_000, T0 + 5000);
      s = (await store.status(li, cmp, DAY, T0 + 1000 + HOLD - 1)).lineItemDay;
      expect([s.spentMicros, s.reservedMicros, s.availableMicros]).toEqual([290_000, 300_000, 410_000]);
      s = (await store.status(li, cmp, DAY, T0 + 1000 + HOLD)).lineItemDay;
      expect([s.spentMicros, s.reservedMicros, s.heldMicros, s.availableMicros]).toEqual([290_000, 0, 0, 710_000]);
    });

    it('returns an unsettled lease to the pool when its TTL passes', async () => {
      const other = await target.client();
      const dead = await store.reserve(li, DAY, 800_000, budget(), T0);
      expect((await other.reserve(li, DAY, 800_000, budget(), T0 + TTL - 1)).grantedMicros).toBe(200_000);
      expect((await other.reserve(li, DAY, 800_000, budget(), T0 + TTL)).grantedMicros).toBe(800_000);
      // The dead worker's late settle still counts what it used, and releases nothing.
      expect(await store.settle(dead, 100_000, T0 + TTL + 1)).toBe(0);
      expect((await other.status(li, cmp, DAY, T0 + TTL + 1)).lineItemDay.reservedMicros).toBe(1_100_000);
      if (other !== store) await other.close();
    });

    it('reconciles spend from the log upwards only, campaign included', async () => {
      await store.recordSpend(li, cmp, DAY, 100_000, T0);
      await store.reconcile({ lineItemId: li, campaignId: cmp, day: DAY, dayMicros: 250_000 }, T0);
      await store.reconcile({ lineItemId: li, campaignId: cmp, day: DAY, dayMicros: 200_000 }, T0);
      await store.reconcile(
        { lineItemId: li, campaignId: cmp, day: DAY, dayMicros: 250_000, lifetimeMicros: 900_000 },
        T0,
      );
      const s = await store.status(li, cmp, DAY, T0);
      expect([s.lineItemDay.spentMicros, s.campaignDay.spentMicros]).toEqual([250_000, 250_000]);
      expect([s.lineItemLifetime.spentMicros, s.campaignLifetime.spentMicros]).toEqual([900_000, 900_000]);
      expect((await store.reserve(li, DAY, 1_000_000, budget(), T0)).grantedMicros).toBe(750_000);
    });

    it('keeps days and line items apart', async () => {
      await store.reserve(li, DAY, 1_000_000, budget(), T0);
      expect((await store.reserve(li, '2030-01-02', 1_000_000, budget(), T0)).grantedMicros).toBe(1_000_000);
      expect((await store.reserve(`${li}x`, DAY, 1_000_000, budget(), T0)).grantedMicros).toBe(1_000_000);
      const s = await store.status(li, cmp, '2030-01-02', T0);
      expect(s.campaignLifetime.reservedMicros).toBe(3_000_000);
    });

    it('refuses malformed amounts and days', async () => {
      await expect(store.reserve(li, DAY, -1, budget(), T0)).rejects.toThrow(RangeError);
      await expect(store.reserve(li, DAY, 1.5, budget(), T0)).rejects.toThrow(RangeError);
      await expect(store.reserve(li, 'tomorrow', 1, budget(), T0)).rejects.toThrow(RangeError);
      await expect(store.recordSpend(li, cmp, DAY, Number.NaN, T0)).rejects.toThrow(RangeError);
      await expect(
        store.reconcile({ lineItemId: li, campaignId: cmp, day: DAY, dayMicros: 2 ** 60 }, T0),
      ).rejects.toThrow(RangeError);
    });

    it('never lets concurrent workers spend past the budget plus what crashed workers held', async () => {
      const B = 50_000_000;
      const COST = 7_000; // one serve at a CPM of 7.00
      const workers = await Promise.all(Array.from({ length: 12 }, () => target.client()));
      const rng = mulberry32(n);
      let actual = 0; // the event log: every serve becomes a billed impression
      let crashedLeases = 0;
      let crashedUnreported = 0;
      let now = T0;
      const run = async (w: BudgetLeaseStore, i: number) => {
        let refused = 0;
        for (let round = 0; round < 1000; round++) {
          const want = 100_000 + Math.floor(rng() * 400_000);
          const lease = await w.reserve(li, DAY, want, budget({ lineItemDailyMicros: B }), now);
          if (lease.grantedMicros === 0) {
            // Holds and others' leases free up later: wait a second, give up after 200 s.
            if (++refused > 200) return;
            now += 1000;
            continue;
          }
          let used = 0;
          const serves = Math.floor(rng() * 80);
          while (used + COST <= lease.grantedMicros && serves > used / COST) {
            used += COST;
            actual += COST;
          }
          // Every third worker dies once, mid-lease: no settle, its spend never reported.
          if (i % 3 === 0 && round === 5) {
            crashedLeases += lease.grantedMicros;
            crashedUnreported += used;
            return;
          }
          await w.recordSpend(li, cmp, DAY, used, now);
          // A lease settled after its expiry was lost too (the bound counts every unsettled lease).
          if (now >= lease.expiresAtMs) crashedLeases += lease.grantedMicros;
          await w.settle(lease, used, now);
          now += 50; // the workers' shared clock: leases expire mid-run
        }
      };
      await Promise.all(workers.map((w, i) => run(w, i)));
      expect(actual).toBeGreaterThan(B * 0.9); // the budget was actually used
      expect(actual).toBeLessThanOrEqual(B + crashedLeases);
      // Reconciling from the log then stops any further grant.
      await store.reconcile({ lineItemId: li, campaignId: cmp, day: DAY, dayMicros: actual }, now + HOLD + TTL);
      const after = await store.reserve(li, DAY, 1_000_000, budget({ lineItemDailyMicros: B }), now + HOLD + TTL);
      expect(after.grantedMicros).toBe(Math.max(0, B - actual));
      expect(crashedUnreported).toBeLessThanOrEqual(crashedLeases);
      for (const w of workers) if (w !== store) await w.close();
    });
  });
}
