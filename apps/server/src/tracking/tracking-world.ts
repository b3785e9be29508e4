/**
 * Test helpers of the tracking suites: a small network (one publisher, one placement, CPM / CPC / CPA line
 * items of two advertisers), a controllable clock, decisions through the real API and the log read back.
 */

import type { AddressInfo } from 'node:net';
import type { LineItem } from '@marquee/core';
import { decodeEvent, type EventLog, START_POSITION, type TrackingEvent } from '@marquee/events';
import type { Store } from '@marquee/store';
import { fixtures } from '@marquee/store/fixtures';
import { servingOf } from '../app.ts';
import type { App } from '../deps.ts';
import { createTestApp, type TestApp, type TestAppOptions } from '../testing/test-app.ts';

const actor = { userId: null, label: 'test' };

async function ok<T>(p: Promise<{ kind: string; entity?: T }>): Promise<T> {
  const r = await p;
  if (r.kind !== 'ok') throw new Error(`create failed: ${r.kind}`);
  return r.entity as T;
}

export interface World {
  readonly advA: string;
  readonly advB: string;
  readonly publisher: string;
  readonly site: string;
  /** One placement per line item, so a decision picks exactly that line item. */
  readonly placements: { cpm: string; cpc: string; cpa: string; budget: string; b: string };
  readonly lineItems: { cpm: string; cpc: string; cpa: string; budget: string; b: string };
}

/** 1 March 2026, noon UTC: inside every flight. Tests move the clock from here. */
export const T0 = Date.UTC(2026, 2, 1, 12);

export async function seedWorld(store: Store): Promise<World> {
  const { repos } = store;
  const advA = await ok(repos.advertiser.create(fixtures.advertiser({ name: 'Alpha' }), actor));
  const advB = await ok(repos.advertiser.create(fixtures.advertiser({ name: 'Beta' }), actor));
  const pub = await ok(repos.publisher.create(fixtures.publisher(), actor));
  const site = await ok(repos.site.create(fixtures.site(pub.id), actor));
  const campA = await ok(repos.campaign.create(fixtures.campaign(advA.id), actor));
  const campB = await ok(repos.campaign.create(fixtures.campaign(advB.id), actor));
  const make = async (adv: string, camp: string, key: string, o: Partial<LineItem>, size: number) => {
    // A size of its own per line item: its placement can only be filled by it.
    const placement = await ok(
      repos.placement.create(fixtures.placement(pub.id, site.id, { name: key, sizes: [{ w: size, h: 50 }] }), actor),
    );
    const creative = await ok(
      repos.creative.create(
        fixtures.creative(adv, {
          width: size,
          height: 50,
          clickUrl: `https://${key}.example/land?c={click_id}&p={placement_id}&cr={creative_id}&cb={cachebuster}`,
        }),
        actor,
      ),
    );
    const li = await ok(
      repos.lineItem.create(
        fixtures.lineItem(adv, camp, { pacing: 'asap', creatives: [{ creativeId: creative.id, weight: 1 }], ...o }),
        actor,
      ),
    );
    return { placement: placement.id, lineItem: li.id };
  };
  const cpm = await make(advA.id, campA.id, 'cpm', { pricingModel: 'cpm', rateMicros: 4_000_000 }, 301);
  const cpc = await make(advA.id, campA.id, 'cpc', { pricingModel: 'cpc', rateMicros: 500_000 }, 302);
  const cpa = await make(advA.id, campA.id, 'cpa', { pricingModel: 'cpa', rateMicros: 20_000_000 }, 303);
  // Budget of exactly one CPM impression (4 USD CPM = 4,000 micros per impression).
  const budget = await make(
    advA.id,
    campA.id,
    'budget',
    { pricingModel: 'cpm', rateMicros: 4_000_000, lifetimeBudgetMicros: 4_000 },
    304,
  );
  const b = await make(advB.id, campB.id, 'beta', { pricingModel: 'cpm', rateMicros: 1_000_000 }, 305);
  return {
    advA: advA.id,
    advB: advB.id,
    publisher: pub.id,
    site: site.id,
    placements: {
      cpm: cpm.placement,
      cpc: cpc.placement,
      cpa: cpa.placement,
      budget: budget.placement,
      b: b.placement,
    },
    lineItems: { cpm: cpm.lineItem, cpc: cpc.lineItem, cpa: cpa.lineItem, budget: budget.lineItem, b: b.lineItem },
  };
}

export interface ServedAd {
  decisionId: string;
  lineItemId: string;
  clickUrl: string | null;
  tracking: { impression: string; viewable: string; click: string | null; custom: string };
}

/** One decision for one placement through POST /v1/decisions; the ad, or the no-fill reason. */
export async function decide(
  app: App,
  placementId: string,
  userKey = 'user-1',
): Promise<{ ad: ServedAd | undefined; noFill: string | undefined }> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/decisions',
    payload: { placements: [{ id: placementId }], user: { key: userKey } },
  });
  if (res.statusCode !== 200) throw new Error(`decision failed: ${res.statusCode} ${res.body}`);
  const body = res.json() as { decisions: Record<string, ServedAd[]>; noFill: Record<string, string> };
  return { ad: body.decisions[placementId]?.[0], noFill: body.noFill[placementId] };
}

/** The path of a tracking URL (app.inject takes paths). */
export const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

/** Every event in the log. */
export async function readAll(log: EventLog): Promise<TrackingEvent[]> {
  const out: TrackingEvent[] = [];
  let from = START_POSITION;
  for (;;) {
    const { events, next } = await log.read(from, 10_000);
    if (events.length === 0) return out;
    for (const r of events) out.push(decodeEvent(r.data));
    from = next;
  }
}

/** A clock tests move by hand. */
export function testClock(start = T0) {
  let now = start;
  return {
    now: () => now,
    set(ms: number) {
      now = ms;
    },
    advance(ms: number) {
      now += ms;
    },
  };
}

/**
 * A test app with the seeded world, its serving snapshot caught up with the store, listening on a free port of
 * 127.0.0.1: what the fast-path tests need to compare answers over a real socket.
 */
export async function listeningWorld(
  options: TestAppOptions = {},
): Promise<{ readonly t: TestApp; readonly w: World; readonly port: number }> {
  const t = await createTestApp(options);
  const w = await seedWorld(t.store);
  const { seq } = await t.store.feed.loadSnapshot();
  if (!(await servingOf(t.app).state.waitFor(seq))) throw new Error('the serving snapshot did not catch up');
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  return { t, w, port: (t.app.server.address() as AddressInfo).port };
}
