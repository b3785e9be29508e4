import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryLedger, ledgerCheck } from './in-memory-ledger.ts';
import type { UsageTotals } from './usage-posting.ts';

const HOUR = 3_600_000;
const BASE = Date.UTC(2026, 0, 1);

/** Rollup increments: (hour, advertiser, publisher, currency) with spend and the publisher's share of it. */
const increment = fc
  .record({
    hour: fc.integer({ min: 0, max: 5 }),
    adv: fc.constantFrom('adv_a', 'adv_b', 'adv_c'),
    pub: fc.constantFrom('pub_p', 'pub_q'),
    currency: fc.constantFrom('USD', 'EUR'),
    spend: fc.integer({ min: 0, max: 5_000_000_000 }),
    shareBps: fc.integer({ min: 0, max: 10_000 }),
  })
  .map((r) => ({ ...r, revenue: Math.floor((r.spend * r.shareBps) / 10_000) }));

/** Applies rounds of increments to cumulative totals, as the rollup consumer does between poster runs. */
function accumulate(
  totals: Map<string, UsageTotals>,
  round: readonly (typeof increment extends fc.Arbitrary<infer T> ? T : never)[],
) {
  for (const r of round) {
    const key = `${r.hour}|${r.adv}|${r.pub}|${r.currency}`;
    const prev = totals.get(key);
    totals.set(key, {
      hourMs: BASE + r.hour * HOUR,
      advertiserId: r.adv,
      publisherId: r.pub,
      currency: r.currency,
      spendMicros: (prev?.spendMicros ?? 0) + r.spend,
      revenueMicros: (prev?.revenueMicros ?? 0) + r.revenue,
    });
  }
}

describe('InMemoryLedger (usage posting)', () => {
  it('balances to the micro over random rollups, with late deltas, and re-posting adds nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.array(increment, { maxLength: 30 }), { minLength: 1, maxLength: 6 }), (rounds) => {
        const ledger = new InMemoryLedger();
        const totals = new Map<string, UsageTotals>();
        for (const round of rounds) {
          accumulate(totals, round);
          ledger.postUsage([...totals.values()]);
          // The poster running again on unchanged rollups posts nothing.
          expect(ledger.postUsage([...totals.values()])).toBe(0);
          expect(ledger.trialBalance().balanced).toBe(true);
        }
        const expected = new Map<string, number>();
        const add = (id: string, v: number) => expected.set(id, (expected.get(id) ?? 0) + v);
        for (const t of totals.values()) {
          add(`advertiser:${t.advertiserId}:${t.currency}`, t.spendMicros);
          add(`publisher:${t.publisherId}:${t.currency}`, -t.revenueMicros);
          add(`revenue::${t.currency}`, t.revenueMicros - t.spendMicros);
        }
        for (const [id, v] of expected) expect(ledger.balance(id), id).toBe(v);
        for (const [id, v] of ledger.allBalances()) expect(v, id).toBe(expected.get(id) ?? 0);
      }),
      { numRuns: 300 },
    );
  });

  it('posts a delta entry when a posted hour grows, and only the difference', () => {
    const ledger = new InMemoryLedger();
    const row: UsageTotals = {
      hourMs: BASE,
      advertiserId: 'adv_a',
      publisherId: 'pub_p',
      currency: 'USD',
      spendMicros: 1_000_000,
      revenueMicros: 700_000,
    };
    expect(ledger.postUsage([row])).toBe(1);
    expect(ledger.postUsage([{ ...row, spendMicros: 1_250_000, revenueMicros: 875_000 }])).toBe(1);
    expect(ledger.entryCount()).toBe(2);
    expect(ledger.balance('advertiser:adv_a:USD')).toBe(1_250_000);
    expect(ledger.balance('publisher:pub_p:USD')).toBe(-875_000);
    expect(ledger.balance('revenue::USD')).toBe(-375_000);
  });

  it('ledgerCheck: the simulator figure', () => {
    const usage: UsageTotals[] = [
      { hourMs: BASE, advertiserId: 'adv_a', publisherId: 'pub_p', currency: 'USD', spendMicros: 3, revenueMicros: 2 },
      { hourMs: BASE, advertiserId: 'adv_b', publisherId: 'pub_p', currency: 'USD', spendMicros: 0, revenueMicros: 0 },
    ];
    expect(ledgerCheck(usage)).toEqual({
      balanced: true,
      entries: 1,
      repostedEntries: 0,
      chargedMicros: 3,
      spendMicros: 3,
    });
  });
});
