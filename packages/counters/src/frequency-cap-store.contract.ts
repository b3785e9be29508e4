/**
 * The contract every FrequencyCapStore passes: run by the in-memory and the Redis test files, so
 * the two cannot drift.
 */
import type { FrequencyCap } from '@marquee/core';
import { decide, mulberry32 } from '@marquee/decision';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import * as f from '../../decision/src/fixtures.ts';
import { buildServingSnapshot, cappedCandidates } from '../../decision/src/index.ts';
import type { FrequencyCapStore } from './frequency-cap-store.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/**
 * Thursday 10:00 UTC a year or so ahead: a boundary of minute, hour, 2-hour and day buckets, in a
 * week bucket that starts at 00:00 that day (weeks are aligned to the epoch, a Thursday). It lies
 * in the future only because Redis expires keys by its own clock; no result depends on the clock.
 */
const WEEK_START = (Math.floor((Date.now() + 365 * DAY) / WEEK) + 1) * WEEK;
const T0 = WEEK_START + 10 * HOUR;

export function runFrequencyCapStoreContract(name: string, create: () => Promise<FrequencyCapStore>): void {
  describe(`FrequencyCapStore contract: ${name}`, () => {
    let store: FrequencyCapStore;
    let n = 0;
    // Fresh users per test, so tests need no cleanup between them and could run in any order.
    let user: string;
    beforeEach(async () => {
      store ??= await create();
      user = `user-${++n}-${name}`;
    });
    afterAll(async () => {
      await store?.close();
    });

    const perMinute: FrequencyCap = { count: 1, per: 'minute' };
    const per2Hours: FrequencyCap = { count: 3, per: 'hour', span: 2 };
    const perDay: FrequencyCap = { count: 5, per: 'day' };
    const perWeek: FrequencyCap = { count: 10, per: 'week' };
    const lifetime: FrequencyCap = { count: 20, per: 'lifetime' };
    const all = [perMinute, per2Hours, perDay, perWeek, lifetime];
    const li = { id: 'li_1', frequencyCaps: all };

    it('starts at zero', async () => {
      const v = await store.load(user, [li], T0);
      for (const cap of all) expect(v.count('li_1', cap, T0)).toBe(0);
    });

    it('counts every window of an impression', async () => {
      await store.record(user, 'li_1', all, T0);
      await store.record(user, 'li_1', all, T0 + 10_000);
      const v = await store.load(user, [li], T0 + 20_000);
      for (const cap of all) expect(v.count('li_1', cap, T0 + 20_000)).toBe(2);
    });

    it('rolls windows over at fixed, aligned boundaries', async () => {
      await store.record(user, 'li_1', all, T0 + 30_000);
      const at = async (t: number) => {
        const v = await store.load(user, [li], t);
        return all.map((cap) => v.count('li_1', cap, t));
      };
      expect(await at(T0 + MIN - 1)).toEqual([1, 1, 1, 1, 1]);
      expect(await at(T0 + MIN)).toEqual([0, 1, 1, 1, 1]); // next minute
      expect(await at(T0 + 2 * HOUR - 1)).toEqual([0, 1, 1, 1, 1]);
      expect(await at(T0 + 2 * HOUR)).toEqual([0, 0, 1, 1, 1]); // next 2-hour bucket (10:00-12:00 -> 12:00)
      expect(await at(WEEK_START + DAY - 1)).toEqual([0, 0, 1, 1, 1]);
      expect(await at(WEEK_START + DAY)).toEqual([0, 0, 0, 1, 1]); // next UTC day
      expect(await at(WEEK_START + WEEK - 1)).toEqual([0, 0, 0, 1, 1]);
      expect(await at(WEEK_START + WEEK)).toEqual([0, 0, 0, 0, 1]); // next week
      expect(await at(WEEK_START + 30 * DAY)).toEqual([0, 0, 0, 0, 1]); // lifetime stays
    });

    it('keeps users and line items apart', async () => {
      await store.record(user, 'li_1', [perDay], T0);
      await store.record(`${user}-other`, 'li_1', [perDay], T0);
      await store.record(`${user}-other`, 'li_1', [perDay], T0);
      await store.record(user, 'li_2', [perDay], T0);
      const v = await store.load(
        user,
        [li, { id: 'li_2', frequencyCaps: [perDay] }, { id: 'li_3', frequencyCaps: [perDay] }],
        T0,
      );
      expect([v.count('li_1', perDay, T0), v.count('li_2', perDay, T0), v.count('li_3', perDay, T0)]).toEqual([
        1, 1, 0,
      ]);
    });

    it('takes any user key, braces and all', async () => {
      const odd = `${user}{weird}:key/é`;
      await store.record(odd, 'li_1', [perDay], T0);
      expect((await store.load(odd, [li], T0)).count('li_1', perDay, T0)).toBe(1);
      expect((await store.load(user, [li], T0)).count('li_1', perDay, T0)).toBe(0);
    });

    it('counts concurrent impressions exactly', async () => {
      await Promise.all(Array.from({ length: 50 }, () => store.record(user, 'li_1', [perDay, lifetime], T0)));
      const v = await store.load(user, [li], T0);
      expect([v.count('li_1', perDay, T0), v.count('li_1', lifetime, T0)]).toEqual([50, 50]);
    });

    it('caps the line item in decide once the count is reached', async () => {
      const snapshot = buildServingSnapshot(
        f.storeSnapshot({
          advertisers: [f.advertiser('adv_a')],
          campaigns: [f.campaign('cmp_a', 'adv_a')],
          creatives: [f.creative('cr_a', 'adv_a')],
          lineItems: [
            f.lineItem('li_capped', 'adv_a', 'cmp_a', ['cr_a'], { frequencyCaps: [{ count: 2, per: 'hour' }] }),
          ],
          publishers: [f.publisher('pub_1')],
          sites: [f.site('site_1', 'pub_1')],
          placements: [f.placement('plc_1', 'site_1', 'pub_1')],
        }),
      );
      const request = { placements: [{ placementId: 'plc_1' }], userKey: user };
      const served: string[] = [];
      for (let i = 0; i < 4; i++) {
        const now = T0 + i * MIN;
        const view = await store.load(user, cappedCandidates(request, snapshot, now), now);
        const d = decide(request, snapshot, now, mulberry32(i), { frequencyCaps: view });
        const p = d.placements[0]!;
        served.push(p.kind);
        if (p.kind === 'filled') {
          const sli = snapshot.lineItemById.get(p.ads[0]!.lineItemId)!;
          await store.record(user, sli.id, sli.frequencyCaps, now, Number.isFinite(sli.endMs) ? sli.endMs : null);
        }
      }
      expect(served).toEqual(['filled', 'filled', 'no_fill', 'no_fill']);
    });
  });
}
