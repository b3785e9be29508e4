/**
 * End to end: a decision, its impression pixel and its click through the signed tracking URLs, then the
 * rollup consumer the app runs turns them into a report row (polled; the bound is the one-minute promise).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rollupsOf, servingOf } from '../../app.ts';
import { createTestApp, type TestApp } from '../../testing/test-app.ts';
import { decide, pathOf, seedWorld, type World } from '../../tracking/tracking-world.ts';

let t: TestApp;
let w: World;

beforeAll(async () => {
  t = await createTestApp();
  w = await seedWorld(t.store);
  const { seq } = await t.store.feed.loadSnapshot();
  expect(await servingOf(t.app).state.waitFor(seq)).toBe(true);
});
afterAll(async () => {
  await t?.close();
});

it('a served impression and click reach the reporting API through the rollup consumer', async () => {
  expect(rollupsOf(t.app)).toBeDefined();
  const { ad } = await decide(t.app, w.placements.cpm);
  expect(ad?.lineItemId).toBe(w.lineItems.cpm);
  expect((await t.app.inject({ method: 'GET', url: pathOf(ad!.tracking.impression) })).statusCode).toBe(200);
  const click = await t.app.inject({ method: 'GET', url: pathOf(ad!.tracking.click!) });
  expect(click.statusCode).toBe(302);

  // Real time (sessions are checked against the database clock); the range spans midnight either side.
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const url =
    `/api/v1/reports?measures=requests,impressions,clicks,spend,ctr&dimensions=line_item,placement` +
    `&from=${day(-1)}&to=${day(1)}&timeZone=UTC&filters=placement:${w.placements.cpm}`;
  let row: Record<string, unknown> | undefined;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const res = await t.app.inject({ method: 'GET', url, headers: t.admin.headers });
    expect(res.statusCode, res.body).toBe(200);
    row = res.json().rows.find((r: Record<string, unknown>) => r['line_item'] === w.lineItems.cpm);
    if (row && row['impressions'] === 1 && row['clicks'] === 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(row).toMatchObject({ impressions: 1, clicks: 1, spend_micros: 4_000, ctr: 1 });
  // The decision's request event is counted on the placement (its filled line item is carried too).
  const stats = rollupsOf(t.app)!.getStats();
  expect(stats.events).toBeGreaterThanOrEqual(3);
});

it('exports the raw events as NDJSON: everything to the network, own rows without personal data to tenants', async () => {
  const { ad } = await decide(t.app, w.placements.b);
  await t.app.inject({ method: 'GET', url: pathOf(ad!.tracking.impression), headers: { 'user-agent': 'UA-SECRET' } });
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const url = `/api/v1/events/export?from=${day(-1)}&to=${day(1)}`;
  const lines = (body: string) =>
    body
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  const admin = await t.app.inject({ method: 'GET', url, headers: t.admin.headers });
  expect(admin.statusCode).toBe(200);
  expect(admin.headers['content-type']).toContain('application/x-ndjson');
  const all = lines(admin.body);
  const mine = all.filter((e) => e['decisionId'] === ad!.decisionId);
  expect(mine.map((e) => e['kind']).sort()).toEqual(['impression', 'request']);
  expect(all.some((e) => e['advertiserId'] === w.advA) && all.some((e) => e['advertiserId'] === w.advB)).toBe(true);

  const advUser = await t.createUser({ role: 'advertiser', advertiserIds: [w.advA] });
  const adv = lines((await t.app.inject({ method: 'GET', url, headers: advUser.headers })).body);
  expect(adv.length).toBeGreaterThan(0);
  expect(adv.every((e) => e['advertiserId'] === w.advA && !('ip' in e) && !('ua' in e))).toBe(true);

  const pubUser = await t.createUser({ role: 'publisher', publisherIds: [w.publisher] });
  const pub = lines((await t.app.inject({ method: 'GET', url, headers: pubUser.headers })).body);
  expect(pub.length).toBeGreaterThan(0);
  expect(pub.every((e) => e['publisherId'] === w.publisher && !('priceMicros' in e) && !('ua' in e))).toBe(true);

  for (const q of ['from=2026-13-01&to=2026-01-01', 'from=2026-02-01&to=2026-01-01', 'from=2025-01-01&to=2026-01-01']) {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/events/export?${q}`, headers: t.admin.headers });
    expect(res.statusCode, q).toBe(400);
  }
});
