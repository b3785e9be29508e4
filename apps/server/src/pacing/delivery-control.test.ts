/**
 * Delivery against plan through the API: GET /api/v1/reports/delivery carries, per line item, the
 * pacing control loop's view of today (status on_track / behind / ahead against the day's plan, the
 * pass-through rate, spend today and planned by now), beside the flight-level delivery figures.
 */
import { fixtures } from '@marquee/store/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servingOf } from '../app.ts';
import { createTestApp, type TestApp } from '../testing/test-app.ts';

const actor = { userId: null, label: 'delivery-control-test' };

async function create<T>(p: Promise<{ kind: string; entity?: T }>): Promise<T> {
  const r = await p;
  if (r.kind !== 'ok' || !r.entity) throw new Error(`expected ok, got ${r.kind}`);
  return r.entity;
}

describe('delivery against plan, with the pacing control view', () => {
  let t: TestApp;
  let paced: string;
  let idle: string;
  let placement: string;

  beforeAll(async () => {
    t = await createTestApp();
    const { repos } = t.store;
    const adv = await create(repos.advertiser.create(fixtures.advertiser(), actor));
    const pub = await create(repos.publisher.create(fixtures.publisher(), actor));
    const site = await create(repos.site.create(fixtures.site(pub.id), actor));
    placement = (await create(repos.placement.create(fixtures.placement(pub.id, site.id), actor))).id;
    const cmp = await create(repos.campaign.create(fixtures.campaign(adv.id), actor));
    const cr = await create(repos.creative.create(fixtures.creative(adv.id), actor));
    const li = (o: object) =>
      create(
        repos.lineItem.create(
          fixtures.lineItem(adv.id, cmp.id, { creatives: [{ creativeId: cr.id, weight: 1 }], ...o }),
          actor,
        ),
      );
    paced = (await li({ pacing: 'even', dailyBudgetMicros: 50_000_000, rateMicros: 3_000_000 })).id;
    idle = (await li({ pacing: 'even', dailyBudgetMicros: 50_000_000, rateMicros: 1_000, status: 'paused' })).id;
    const { seq } = await t.store.feed.loadSnapshot();
    expect(await servingOf(t.app).state.waitFor(seq)).toBe(true);
  });
  afterAll(async () => t?.close());

  it('shows on_track / behind / ahead from the control loop for a line item this server paces', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: { placements: [{ id: placement }], user: { key: 'u1' } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().decisions[placement][0].lineItemId).toBe(paced);
    await servingOf(t.app).pacing.control(Date.now());

    const body = (
      await t.app.inject({ method: 'GET', url: '/api/v1/reports/delivery', headers: t.admin.headers })
    ).json();
    const item = body.items.find((d: { lineItemId: string }) => d.lineItemId === paced);
    expect(item.control).toMatchObject({ dailyTargetMicros: 50_000_000 });
    expect(['on_track', 'behind', 'ahead']).toContain(item.control.status);
    expect(item.control.rate).toBeGreaterThan(0);
    expect(item.control.rate).toBeLessThanOrEqual(1);
    // Nothing reported spent yet; the serve's expected cost is counted (reserve-on-serve).
    expect(item.control.spentTodayMicros).toBe(3_000);
    expect(item.control.plannedTodayMicros).toBeGreaterThanOrEqual(0);
    // A line item this server never paced has no control view.
    const other = body.items.find((d: { lineItemId: string }) => d.lineItemId === idle);
    expect(other.control).toBeNull();
  });
});
