/**
 * The pacing feeds with real rollup rows (events through a file log and the rollup consumer, into
 * PGlite and PostgreSQL): traffic curves learned per placement, and budgets and impression goals
 * reconciled after a worker died holding a lease and unreported spend, on both lease stores.
 */
import { randomUUID } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LineItem } from '@marquee/core';
import { buildServingSnapshot, decide, mulberry32, type ServingSnapshot } from '@marquee/decision';
import { createFileEventLog, encodeEvents, type FileEventLog, type TrackingEvent } from '@marquee/events';
import {
  type BudgetLeaseStore,
  BudgetPacing,
  clickGoalScope,
  DayPlan,
  dayProfile,
  expectedServeCostMicros,
  InMemoryBudgetLeaseStore,
  impressionGoalScope,
  LeasedBudgetGate,
  RedisBudgetLeaseStore,
  TrafficCurve,
} from '@marquee/pacing';
import { RollupConsumer } from '@marquee/reporting';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as f from '../../../../packages/decision/src/fixtures.ts';
import { createTestApp, type TestApp } from '../testing/test-app.ts';
import { reconcileFromRollups } from './spend-reconciler.ts';
import { TrafficCurveFeed } from './traffic-curve-feed.ts';

const H = 3_600_000;
const REDIS_URL = process.env['MARQUEE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
// A winter day: Europe/Paris is UTC+1.
const NOW = Date.parse('2030-01-15T09:30:00Z');

function world(lineItems: Partial<LineItem>[]): ServingSnapshot {
  return buildServingSnapshot(
    f.storeSnapshot({
      advertisers: [f.advertiser('adv_a')],
      campaigns: [f.campaign('cmp_a', 'adv_a')],
      creatives: [f.creative('cr_a', 'adv_a')],
      lineItems: lineItems.map((o, i) => f.lineItem(o.id ?? `li_${i}`, 'adv_a', 'cmp_a', ['cr_a'], o)),
      publishers: [f.publisher('pub_1')],
      sites: [f.site('site_1', 'pub_1')],
      // First price: a serve costs the rate (2.00 CPM = 2,000 micros an impression).
      placements: [
        f.placement('plc_1', 'site_1', 'pub_1', { auction: 'first_price' }),
        f.placement('plc_2', 'site_1', 'pub_1', { auction: 'first_price' }),
      ],
    }),
  );
}

let seq = 0;
function event(kind: TrackingEvent['kind'], placementId: string, tsMs: number, o: Partial<TrackingEvent> = {}) {
  const request = kind === 'request';
  return {
    kind,
    eventId: `ev-${randomUUID()}-${++seq}`,
    decisionId: `d-${seq}`,
    lineItemId: '',
    creativeId: request ? '' : 'cr_a',
    advertiserId: request ? '' : 'adv_a',
    campaignId: request ? '' : 'cmp_a',
    publisherId: 'pub_1',
    siteId: 'site_1',
    placementId,
    tsMs,
    priceMicros: 0,
    country: 'FR',
    deviceType: 'desktop',
    userKey: '',
    verdict: 'valid',
    reason: '',
    ...o,
  } satisfies TrackingEvent;
}

describe.each(['pglite', 'postgres'] as const)('pacing feeds from the rollups (%s)', (backend) => {
  let t: TestApp;
  let log: FileEventLog;
  let dir: string;
  const consumer = () => new RollupConsumer({ log, store: t.store, name: `pacing-test-${randomUUID()}` });

  beforeAll(async () => {
    t = await createTestApp({ backend });
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'marquee-pacing-feeds-'));
    log = await createFileEventLog({ dir });
  });
  afterAll(async () => {
    await log?.close();
    await t?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('learns each placement’s hourly shape of requests, per zone; flat with no history', async () => {
    const snapshot = world([
      { id: 'li_utc', timeZone: 'UTC' },
      { id: 'li_paris', timeZone: 'Europe/Paris' },
      { id: 'li_new', timeZone: 'UTC' },
    ]);
    const feed = new TrafficCurveFeed({ rollups: t.store.rollups, days: 7, priorPerHour: 0 });
    await feed.refresh(NOW);
    expect(feed.curve(snapshot.lineItemById.get('li_utc')!)).toBe(TrafficCurve.flat());

    // Three past days: plc_1 busy at 12:00 UTC (90 requests), 5 an hour otherwise; plc_2 flat (10 an hour).
    // li_utc and li_paris delivered on plc_1 only; li_new never delivered.
    const events: TrackingEvent[] = [];
    const day0 = Date.parse('2030-01-12T00:00:00Z');
    for (let d = 0; d < 3; d++) {
      for (let h = 0; h < 24; h++) {
        const at = day0 + d * 24 * H + h * H + 60_000;
        for (let i = 0; i < (h === 12 ? 90 : 5); i++) events.push(event('request', 'plc_1', at));
        for (let i = 0; i < 10; i++) events.push(event('request', 'plc_2', at));
      }
      for (const li of ['li_utc', 'li_paris'])
        events.push(event('impression', 'plc_1', day0 + d * 24 * H + 12 * H, { lineItemId: li, priceMicros: 2_000 }));
    }
    // Older than the window: ignored.
    for (let i = 0; i < 1000; i++) events.push(event('request', 'plc_1', NOW - 8 * 24 * H));
    await log.append(encodeEvents(events));
    await consumer().drain();
    await feed.refresh(NOW);

    const utc = feed.curve(snapshot.lineItemById.get('li_utc')!);
    expect(feed.curve(snapshot.lineItemById.get('li_utc')!)).toBe(utc); // the same object until the next refresh
    const total1 = 3 * (23 * 5 + 90);
    expect(utc.weight(12)).toBeCloseTo(270 / total1, 9);
    expect(utc.weight(3)).toBeCloseTo(15 / total1, 9);
    // The same placement seen from Paris: the peak is at 13:00 local.
    const paris = feed.curve(snapshot.lineItemById.get('li_paris')!);
    expect(paris.weight(13)).toBeCloseTo(270 / total1, 9);
    expect(paris.weight(12)).toBeCloseTo(15 / total1, 9);
    // No history of its own: the network's curve (both placements).
    const net = feed.curve(snapshot.lineItemById.get('li_new')!);
    expect(net.weight(12)).toBeCloseTo((270 + 30) / (total1 + 3 * 240), 9);

    // Even pacing follows it: the plan by 09:30 UTC is the curve's share of the hours gone.
    const sli = snapshot.lineItemById.get('li_utc')!;
    const paced = world([{ id: 'li_utc', pacing: 'even', dailyBudgetMicros: 10_000_000 }]);
    const pacing = new BudgetPacing({
      store: new InMemoryBudgetLeaseStore(),
      snapshot: () => paced,
      curve: (s) => feed.curve(s),
    });
    pacing.admit(paced.lineItemById.get('li_utc')!, NOW);
    await pacing.control(NOW);
    const plan = new DayPlan(dayProfile('UTC', NOW), feed.curve(sli), 'even');
    expect(plan.shareBy(NOW)).toBeCloseTo((9.5 * 15) / total1, 9);
    expect(pacing.views()[0]!.plannedTodayMicros).toBe(Math.round(10_000_000 * plan.shareBy(NOW)));

    // A prior keeps a thin history near flat.
    const smoothed = new TrafficCurveFeed({ rollups: t.store.rollups, days: 7, priorPerHour: 1000 });
    await smoothed.refresh(NOW);
    const w = smoothed.curve(sli).weight(12);
    expect(w).toBeGreaterThan(1 / 24);
    expect(w).toBeLessThan(utc.weight(12));
  });

  it('a click goal: serves reserve their predicted clicks, the rollups bring the actual ones, delivery stops', async () => {
    const id = `li_clicks_${backend}`;
    const G = 5;
    const snapshot = world([{ id, dailyClickGoal: G, pacing: 'asap' }]);
    const store = new InMemoryBudgetLeaseStore();
    const spend = new BudgetPacing({ store, snapshot: () => snapshot });
    const clicks = new BudgetPacing({ store, snapshot: () => snapshot, scope: clickGoalScope, maxLeaseShare: 0.2 });
    const gate = new LeasedBudgetGate(snapshot, spend, undefined, [clicks]);
    const rng = mulberry32(3);
    const c = consumer();
    const RECONCILE_EVERY = 10;
    let now = NOW;
    let served = 0;
    let idle = 0;
    let clicksSinceReconcile = 0;
    let clicksAtStop = 0;
    for (let s = 0; s < 600 && idle < 30; s++) {
      now += 1000;
      await clicks.refill(now);
      const events: TrackingEvent[] = [];
      let filled = 0;
      for (let i = 0; i < 10; i++) {
        const d = decide({ placements: [{ placementId: 'plc_1' }] }, snapshot, now, rng, { pacing: gate });
        if (d.placements[0]!.kind !== 'filled') continue;
        filled++;
        clicks.onServed(id, 100_000); // predicted CTR 10%: a tenth of a click reserved
        events.push(event('impression', 'plc_1', now, { lineItemId: id }));
        // The real CTR is 25%: more clicks than reserved; only the reconcile tells the store.
        if (++served % 4 === 0) {
          events.push(event('click', 'plc_1', now, { lineItemId: id }));
          clicksSinceReconcile++;
        }
      }
      idle = filled === 0 ? idle + 1 : 0;
      if (idle === 1) clicksAtStop = clicksSinceReconcile;
      if (events.length) await log.append(encodeEvents(events));
      if (s % RECONCILE_EVERY === RECONCILE_EVERY - 1) {
        await c.drain();
        await reconcileFromRollups(t.store.rollups, store, snapshot, now);
        clicksSinceReconcile = 0;
      }
    }
    expect(idle).toBe(30); // delivery stopped
    await c.drain();
    await reconcileFromRollups(t.store.rollups, store, snapshot, now);
    const [row] = await t.store.rollups.query({
      dimensions: ['line_item'],
      timeZone: 'UTC',
      filters: { line_item: [id] },
      maxGroups: 2,
    });
    const total = row!.measures.clicks;
    expect(total).toBeGreaterThanOrEqual(G);
    // The bound: the goal + the clicks of serves the last reconcile had not seen when it stopped them
    // (their reservation was an expectation) + one lease.
    expect(total).toBeLessThanOrEqual(G + clicksAtStop + 1);
    const st = await store.status(
      clickGoalScope.key(id),
      clickGoalScope.campaignKey(snapshot.lineItemById.get(id)!),
      '2030-01-15',
      now + 200_000,
    );
    expect(st.lineItemDay.spentMicros).toBe(total * 1_000_000);
    expect(st.lineItemDay.availableMicros).toBe(0);
  });

  describe.each(['embedded', 'redis'] as const)('a worker dies mid-day (%s lease store)', (kind) => {
    let store: BudgetLeaseStore;
    let redis: Redis | undefined;
    const prefix = `mqtest:${randomUUID()}:`;
    beforeAll(() => {
      if (kind === 'redis') {
        redis = new Redis(REDIS_URL);
        store = new RedisBudgetLeaseStore({ client: redis, keyPrefix: prefix });
      } else store = new InMemoryBudgetLeaseStore();
    });
    afterAll(async () => {
      if (redis) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      }
    });

    it('its spend and impressions are reconciled from the rollups; delivery stops within the bound', async () => {
      const id = `li_${kind}_${backend}`;
      const B = 400_000; // 200 impressions at 2.00 CPM
      const GOAL = 150; // the impression goal binds first
      const snapshot = world([
        { id, dailyBudgetMicros: B, dailyImpressionGoal: GOAL, lifetimeBudgetMicros: 10 * B, pacing: 'asap' },
      ]);
      const request = { placements: [{ placementId: 'plc_1' }] };
      const mk = () => {
        const spend = new BudgetPacing({ store, snapshot: () => snapshot, maxLeaseShare: 0.1 });
        const goals = new BudgetPacing({
          store,
          snapshot: () => snapshot,
          scope: impressionGoalScope,
          maxLeaseShare: 0.1,
        });
        return { spend, goals, gate: new LeasedBudgetGate(snapshot, spend, undefined, [goals]) };
      };
      const rng = mulberry32(7);
      const logged: TrackingEvent[] = [];
      /** n requests on one worker; each served ad is an impression in the log (durable first). */
      const serve = (w: ReturnType<typeof mk>, n: number, now: number, report: boolean) => {
        for (let i = 0; i < n; i++) {
          const d = decide(request, snapshot, now, rng, { pacing: w.gate });
          const p = d.placements[0]!;
          if (p.kind !== 'filled') continue;
          for (const ad of p.ads) {
            const cost = expectedServeCostMicros(ad);
            w.spend.onServed(ad.lineItemId, cost);
            w.goals.onServed(ad.lineItemId, 1);
            logged.push(event('impression', 'plc_1', now, { lineItemId: ad.lineItemId, priceMicros: cost }));
            if (report) {
              w.spend.onSpend(ad.lineItemId, '2030-01-15', cost);
              w.goals.onSpend(ad.lineItemId, '2030-01-15', 1);
            }
          }
        }
      };
      const alive = mk();
      const victim = mk();
      let now = NOW;
      for (const w of [alive, victim]) {
        serve(w, 1, now, false); // demand noted
        await Promise.all([w.spend.refill(now), w.goals.refill(now)]);
      }
      serve(alive, 30, now, true);
      serve(victim, 30, now, false); // the victim never reports its spend...
      const outstanding = victim.spend.outstandingLeaseMicros();
      const outstandingImpressions = victim.goals.outstandingLeaseMicros();
      expect(outstanding).toBeGreaterThan(0);
      // ...and dies here: no settle, no flush. Its events are in the log.
      await log.append(encodeEvents(logged.splice(0)));

      // The survivor goes on until refused, the rollups follow the log, the reconcile runs each "minute".
      // Over 400 s: the dead lease expires (30 s) and every hold (120 s) with it.
      const c = consumer();
      for (let i = 0; i < 400; i++) {
        now += 1000;
        await Promise.all([alive.spend.refill(now), alive.goals.refill(now)]);
        serve(alive, 20, now, true);
        if (logged.length) await log.append(encodeEvents(logged.splice(0)));
        if (i % 60 === 59) {
          await c.drain();
          await reconcileFromRollups(t.store.rollups, store, snapshot, now);
        }
      }
      await c.drain();
      await reconcileFromRollups(t.store.rollups, store, snapshot, now + 200_000);

      const delivered = await t.store.rollups.query({
        dimensions: ['line_item'],
        timeZone: 'UTC',
        filters: { line_item: [id] },
        maxGroups: 2,
      });
      const m = delivered[0]!.measures;
      // The bound: the goal (and the budget) + what the dead worker held, one lease each.
      expect(m.impressions).toBeLessThanOrEqual(GOAL + outstandingImpressions);
      expect(m.impressions).toBeGreaterThanOrEqual(GOAL - 2 * Math.ceil(0.1 * GOAL));
      expect(m.spendMicros).toBeLessThanOrEqual(B + outstanding);
      // The store now holds the log's figures (the dead worker's unreported part included).
      const later = now + 200_000;
      const s = await store.status(id, 'cmp_a', '2030-01-15', later);
      expect(s.lineItemDay.spentMicros).toBe(m.spendMicros);
      expect(s.lineItemLifetime.spentMicros).toBe(m.spendMicros);
      expect(s.campaignDay.spentMicros).toBe(m.spendMicros);
      const g = await store.status(
        impressionGoalScope.key(id),
        impressionGoalScope.campaignKey(snapshot.lineItemById.get(id)!),
        '2030-01-15',
        later,
      );
      expect(g.lineItemDay.spentMicros).toBe(m.impressions);
      expect(g.lineItemDay.availableMicros).toBe(Math.max(0, GOAL - m.impressions));
      // A fresh worker gets nothing more.
      const fresh = mk();
      serve(fresh, 1, later, true);
      await Promise.all([fresh.spend.refill(later), fresh.goals.refill(later)]);
      expect(fresh.goals.balance(id)).toBe(0);
    });
  });
});
