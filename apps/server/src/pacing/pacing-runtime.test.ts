/**
 * A line item that was paused when an embedded server started is not in the start-up reconcile: when it is
 * first asked for (resumed), the pacing runtime reconciles it with the rollups at once, so the fresh lease
 * store learns what it spent before the restart and grants nothing past its budget.
 */
import { randomUUID } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LineItem } from '@marquee/core';
import { buildServingSnapshot, decide, FixedPriorPredictor, mulberry32, type ServingSnapshot } from '@marquee/decision';
import { createFileEventLog, encodeEvents, type TrackingEvent } from '@marquee/events';
import { InMemoryBudgetLeaseStore } from '@marquee/pacing';
import { RollupConsumer } from '@marquee/reporting';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as f from '../../../../packages/decision/src/fixtures.ts';
import { createTestApp, type TestApp } from '../testing/test-app.ts';
import { PacingRuntime } from './pacing-runtime.ts';

const NOW = Date.parse('2030-02-10T10:00:00Z');
const DAY = '2030-02-10';

function world(lineItems: Partial<LineItem>[]): ServingSnapshot {
  return buildServingSnapshot(
    f.storeSnapshot({
      advertisers: [f.advertiser('adv_r')],
      campaigns: [f.campaign('cmp_r', 'adv_r')],
      creatives: [f.creative('cr_r', 'adv_r')],
      lineItems: lineItems.map((o, i) => f.lineItem(o.id ?? `li_${i}`, 'adv_r', 'cmp_r', ['cr_r'], o)),
      publishers: [f.publisher('pub_r')],
      sites: [f.site('site_r', 'pub_r')],
      placements: [f.placement('plc_r', 'site_r', 'pub_r', { auction: 'first_price' })],
    }),
  );
}

function impression(lineItemId: string, tsMs: number, priceMicros: number): TrackingEvent {
  const id = randomUUID();
  return {
    kind: 'impression',
    eventId: `ev-${id}`,
    decisionId: `d-${id}`,
    lineItemId,
    creativeId: 'cr_r',
    advertiserId: 'adv_r',
    campaignId: 'cmp_r',
    publisherId: 'pub_r',
    siteId: 'site_r',
    placementId: 'plc_r',
    tsMs,
    priceMicros,
    country: 'FR',
    deviceType: 'desktop',
    userKey: '',
    verdict: 'valid',
    reason: '',
  };
}

describe('pacing runtime: a line item first asked for after start', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await createTestApp();
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'marquee-pacing-runtime-'));
  });
  afterAll(async () => {
    await t?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('is reconciled with the rollups at once (resumed after a restart): no lease beyond its budget', async () => {
    const id = `li_resumed_${randomUUID().slice(0, 8)}`;
    const BUDGET = 1_000_000; // 500 impressions at 2.00 CPM
    const SPENT = 990_000; // spent before the restart: 495 impressions
    const log = await createFileEventLog({ dir });
    await log.append(encodeEvents(Array.from({ length: 495 }, (_, i) => impression(id, NOW - 3_600_000 + i, 2_000))));
    await new RollupConsumer({ log, store: t.store, name: `runtime-test-${randomUUID()}` }).drain();
    await log.close();

    // The restarted server: a fresh embedded lease store; the line item paused at start, resumed later.
    const leases = new InMemoryBudgetLeaseStore();
    const paused = world([]);
    const resumed = world([{ id, lifetimeBudgetMicros: BUDGET, pacing: 'asap' }]);
    let snapshot = paused;
    let now = NOW;
    const errors: unknown[] = [];
    const runtime = new PacingRuntime({
      leases,
      rollups: t.store.rollups,
      snapshot: () => snapshot,
      now: () => now,
      predictor: new FixedPriorPredictor(),
      deps: {},
      onError: (err) => errors.push(err),
    });
    await runtime.feeds.runOnce(); // the start-up reconcile: the line item is not in the snapshot

    snapshot = resumed;
    const gate = runtime.gate(resumed);
    const rng = mulberry32(11);
    const request = { placements: [{ placementId: 'plc_r' }] };
    const serveAll = () => {
      let served = 0;
      for (let i = 0; i < 100; i++) {
        const d = decide(request, resumed, now, rng, { pacing: gate });
        const p = d.placements[0]!;
        if (p.kind !== 'filled') continue;
        for (const ad of p.ads) {
          served++;
          runtime.onServed(resumed.lineItemById.get(ad.lineItemId)!, resumed.placements.get('plc_r'));
        }
      }
      return served;
    };
    // The first demand: it may spend from the one lease granted on the spot while the catch-up runs.
    const first = serveAll();
    await runtime.feeds.runCatchUp();
    const status = await leases.status(id, 'cmp_r', DAY, now);
    expect(status.lineItemLifetime.spentMicros).toBe(SPENT);

    // From then on nothing more is granted than what is left of the budget.
    let served = first;
    for (let s = 0; s < 20; s++) {
      now += 1000;
      await runtime.pacing.refill(now);
      served += serveAll();
    }
    expect(errors).toEqual([]);
    // 2,000 micros a serve: 5 serves are left of the budget, plus at most the first lease (1% of it).
    expect(SPENT + served * 2_000).toBeLessThanOrEqual(BUDGET + 0.01 * BUDGET);
    expect(served).toBeGreaterThan(0);
  });
});
