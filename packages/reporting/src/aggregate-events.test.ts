import type { TrackingEvent } from '@marquee/events';
import { describe, expect, it } from 'vitest';
import { aggregateEvents, HOUR_MS, revenueOf } from './aggregate-events.ts';
import { RecentEventIds } from './recent-event-ids.ts';

const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);

function ev(kind: TrackingEvent['kind'], o: Partial<TrackingEvent> = {}): TrackingEvent {
  return {
    kind,
    eventId: `e-${Math.random()}`,
    decisionId: 'd1',
    lineItemId: 'li1',
    creativeId: 'cr1',
    advertiserId: 'adv1',
    campaignId: 'cmp1',
    publisherId: 'pub1',
    siteId: 'site1',
    placementId: 'pl1',
    tsMs: T0 + 1000,
    priceMicros: 0,
    country: 'FR',
    deviceType: 'mobile',
    userKey: '',
    verdict: 'valid',
    reason: '',
    ...o,
  };
}

const share = (bps: Record<string, number>) => (id: string) => bps[id] ?? 0;

describe('aggregateEvents', () => {
  it('counts each kind in its measure and sums spend and the publisher share of it', () => {
    const { rows, invalid, events } = aggregateEvents(
      [
        ev('impression', { priceMicros: 2_500 }),
        ev('impression', { priceMicros: 2_501 }),
        ev('viewable'),
        ev('click', { priceMicros: 400_000 }),
        ev('conversion'),
        ev('custom', { name: 'signup' }),
        ev('billing'),
      ],
      share({ pub1: 7_000 }),
    );
    expect(events).toBe(7);
    expect(invalid).toEqual([]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      hourMs: T0,
      impressions: 2,
      viewableImpressions: 1,
      clicks: 1,
      conversions: 1,
      customEvents: 1,
      requests: 0,
      events: 7,
      spendMicros: 2_500 + 2_501 + 400_000,
      // Rounded down per event: 1750 + 1750 (1750.7) + 280000.
      revenueMicros: 1_750 + 1_750 + 280_000,
      invalidEvents: 0,
    });
  });

  it('keeps invalid events out of every valid measure and counts them by reason', () => {
    const { rows, invalid } = aggregateEvents(
      [
        ev('impression', { priceMicros: 1_000 }),
        ev('impression', { verdict: 'invalid', reason: 'duplicate', priceMicros: 1_000 }),
        ev('click', { verdict: 'invalid', reason: 'bad_signature', priceMicros: 50_000 }),
        ev('click', { verdict: 'invalid', reason: 'bad_signature' }),
        ev('impression', { verdict: 'invalid', reason: '' }),
      ],
      share({ pub1: 5_000 }),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      impressions: 1,
      clicks: 0,
      spendMicros: 1_000,
      revenueMicros: 500,
      invalidEvents: 4,
    });
    const byReason = Object.fromEntries(invalid.map((r) => [r.reason, r.events]));
    expect(byReason).toEqual({ duplicate: 1, bad_signature: 2, unspecified: 1 });
    expect(invalid.every((r) => r.placementId === 'pl1' && r.hourMs === T0)).toBe(true);
  });

  it('splits rows by UTC hour and by every dimension; requests count per placement', () => {
    const { rows } = aggregateEvents(
      [
        ev('request', { lineItemId: '', creativeId: '', advertiserId: '', campaignId: '' }),
        ev('request', { lineItemId: '', creativeId: '', advertiserId: '', campaignId: '', tsMs: T0 + HOUR_MS - 1 }),
        ev('request', { lineItemId: '', creativeId: '', advertiserId: '', campaignId: '', tsMs: T0 + HOUR_MS }),
        ev('impression'),
        ev('impression', { country: 'DE' }),
        ev('impression', { deviceType: 'desktop' }),
        ev('impression', { placementId: 'pl2' }),
      ],
      share({}),
    );
    expect(rows).toHaveLength(6);
    const requestRows = rows.filter((r) => r.requests > 0);
    expect(requestRows.map((r) => [r.hourMs, r.requests, r.lineItemId])).toEqual([
      [T0, 2, ''],
      [T0 + HOUR_MS, 1, ''],
    ]);
    expect(rows.reduce((s, r) => s + r.impressions, 0)).toBe(4);
  });

  it('gives the same totals however the events are batched', () => {
    const all = Array.from({ length: 500 }, (_, i) =>
      ev(i % 5 === 0 ? 'click' : 'impression', {
        priceMicros: 1_000 + (i % 7) * 333,
        publisherId: `pub${i % 3}`,
        tsMs: T0 + i * 60_000,
        verdict: i % 11 === 0 ? 'invalid' : 'valid',
        reason: i % 11 === 0 ? 'bot' : '',
      }),
    );
    const shares = share({ pub0: 3_333, pub1: 10_000, pub2: 1 });
    const sum = (batches: TrackingEvent[][]) => {
      const t = { spend: 0, revenue: 0, impressions: 0, invalid: 0 };
      for (const b of batches) {
        for (const r of aggregateEvents(b, shares).rows) {
          t.spend += r.spendMicros;
          t.revenue += r.revenueMicros;
          t.impressions += r.impressions;
          t.invalid += r.invalidEvents;
        }
      }
      return t;
    };
    const whole = sum([all]);
    const pieces = sum([all.slice(0, 13), all.slice(13, 200), all.slice(200)]);
    expect(pieces).toEqual(whole);
    const expectedSpend = all.filter((e) => e.verdict === 'valid').reduce((s, e) => s + e.priceMicros, 0);
    expect(whole.spend).toBe(expectedSpend);
  });
});

describe('revenueOf', () => {
  it('rounds down, and stays exact past 2^53 intermediate products', () => {
    expect(revenueOf(999, 3_333)).toBe(332); // 332.9667
    expect(revenueOf(0, 5_000)).toBe(0);
    expect(revenueOf(-10, 5_000)).toBe(0);
    expect(revenueOf(Number.MAX_SAFE_INTEGER, 10_000)).toBe(Number.MAX_SAFE_INTEGER);
    expect(revenueOf(Number.MAX_SAFE_INTEGER, 9_999)).toBe(
      Number((BigInt(Number.MAX_SAFE_INTEGER) * 9_999n) / 10_000n),
    );
  });
});

describe('RecentEventIds', () => {
  it('remembers the last N ids and forgets the oldest', () => {
    const w = new RecentEventIds(3);
    for (const id of ['a', 'b', 'c', 'a', 'd']) w.add(id);
    expect(w.has('a')).toBe(false);
    expect(['b', 'c', 'd'].every((id) => w.has(id))).toBe(true);
    expect(w.size).toBe(3);
    const big = new RecentEventIds(10_000);
    for (let i = 0; i < 50_000; i++) big.add(`x${i}`);
    expect(big.size).toBe(10_000);
    expect(big.has('x39999')).toBe(false);
    expect(big.has('x40000')).toBe(true);
  });
});
