import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createFileEventLog, encodeEvents, type FileEventLog, type TrackingEvent } from '@marquee/events';
import { RollupConsumer } from '@marquee/reporting';
import { fixtures } from '@marquee/store/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../testing/test-app.ts';

const actor = { userId: null, label: 'reports-test' };
const JAN15 = Date.UTC(2026, 0, 15, 0, 0, 0);
const H = 3_600_000;

function ok<T>(r: { kind: string; entity?: T }): T {
  if (r.kind !== 'ok' || !r.entity) throw new Error(`expected ok, got ${r.kind}`);
  return r.entity;
}

describe.each(['pglite', 'postgres'] as const)('reporting API (%s)', (backend) => {
  let t: TestApp;
  let log: FileEventLog;
  let dir: string;
  let w: Awaited<ReturnType<typeof seed>>;
  let advUser: TestUser;
  let pubUser: TestUser;
  let seq = 0;

  async function seed() {
    const s = t.store;
    const advA = ok(await s.repos.advertiser.create(fixtures.advertiser({ name: 'Acme, "the" best' }), actor));
    const advB = ok(await s.repos.advertiser.create(fixtures.advertiser({ name: 'Other' }), actor));
    const cmpA = ok(await s.repos.campaign.create(fixtures.campaign(advA.id), actor));
    const cmpB = ok(await s.repos.campaign.create(fixtures.campaign(advB.id), actor));
    const liA = ok(
      await s.repos.lineItem.create(
        fixtures.lineItem(advA.id, cmpA.id, {
          name: '=HYPERLINK("x")',
          lifetimeBudgetMicros: 100_000_000,
          startAt: new Date(Date.now() - 5 * 24 * H).toISOString(),
          endAt: new Date(Date.now() + 5 * 24 * H).toISOString(),
        }),
        actor,
      ),
    );
    const liB = ok(await s.repos.lineItem.create(fixtures.lineItem(advB.id, cmpB.id, { name: 'B line' }), actor));
    const crA = ok(await s.repos.creative.create(fixtures.creative(advA.id), actor));
    const crB = ok(await s.repos.creative.create(fixtures.creative(advB.id), actor));
    const pubP = ok(
      await s.repos.publisher.create(fixtures.publisher({ name: 'Pub P', revenueShareBps: 6_000 }), actor),
    );
    const pubQ = ok(
      await s.repos.publisher.create(fixtures.publisher({ name: 'Pub Q', revenueShareBps: 5_000 }), actor),
    );
    const siteP = ok(await s.repos.site.create(fixtures.site(pubP.id), actor));
    const siteQ = ok(await s.repos.site.create(fixtures.site(pubQ.id), actor));
    const plP = ok(await s.repos.placement.create(fixtures.placement(pubP.id, siteP.id), actor));
    const plQ = ok(await s.repos.placement.create(fixtures.placement(pubQ.id, siteQ.id), actor));
    return { advA, advB, cmpA, cmpB, liA, liB, crA, crB, pubP, pubQ, siteP, siteQ, plP, plQ };
  }

  function event(
    kind: TrackingEvent['kind'],
    side: 'A' | 'B',
    pub: 'P' | 'Q',
    tsMs: number,
    o: Partial<TrackingEvent> = {},
  ): TrackingEvent {
    const a = side === 'A';
    const p = pub === 'P';
    const request = kind === 'request';
    return {
      kind,
      eventId: `ev-${++seq}`,
      decisionId: `d-${seq}`,
      lineItemId: request ? '' : a ? w.liA.id : w.liB.id,
      creativeId: request ? '' : a ? w.crA.id : w.crB.id,
      advertiserId: request ? '' : a ? w.advA.id : w.advB.id,
      campaignId: request ? '' : a ? w.cmpA.id : w.cmpB.id,
      publisherId: p ? w.pubP.id : w.pubQ.id,
      siteId: p ? w.siteP.id : w.siteQ.id,
      placementId: p ? w.plP.id : w.plQ.id,
      tsMs,
      priceMicros: kind === 'impression' ? 2_500 : 0,
      country: 'FR',
      deviceType: 'desktop',
      userKey: '',
      verdict: 'valid',
      reason: '',
      ...o,
    };
  }

  beforeAll(async () => {
    t = await createTestApp({ backend });
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'marquee-reports-'));
    log = await createFileEventLog({ dir });
    w = await seed();
    const events: TrackingEvent[] = [];
    // Jan 15, 10:00 UTC: A on P: 4 requests, 3 impressions, 1 viewable, 1 click; B on Q: 2 impressions.
    const t1 = JAN15 + 10 * H;
    for (let i = 0; i < 4; i++) events.push(event('request', 'A', 'P', t1));
    for (let i = 0; i < 3; i++) events.push(event('impression', 'A', 'P', t1));
    events.push(event('viewable', 'A', 'P', t1), event('click', 'A', 'P', t1));
    events.push(event('impression', 'B', 'Q', t1), event('impression', 'B', 'Q', t1));
    // Jan 15, 23:30 UTC = Jan 16, 00:30 in Paris: one impression of A on P.
    events.push(event('impression', 'A', 'P', JAN15 + 23.5 * H));
    // Invalid traffic: never spend.
    events.push(event('impression', 'A', 'P', t1, { verdict: 'invalid', reason: 'bot', priceMicros: 0 }));
    events.push(event('click', 'A', 'P', t1, { verdict: 'invalid', reason: 'duplicate' }));
    events.push(event('click', 'A', 'P', t1, { verdict: 'invalid', reason: 'duplicate' }));
    // Today, for delivery: 10 impressions of A.
    for (let i = 0; i < 10; i++) events.push(event('impression', 'A', 'P', Date.now() - 1000));
    await log.append(encodeEvents(events));
    // A consumer of its own (the app's follows the app's log under the default name).
    await new RollupConsumer({ log, store: t.store, name: 'reports-test' }).drain();
    advUser = await t.createUser({ role: 'advertiser', advertiserIds: [w.advA.id] });
    pubUser = await t.createUser({ role: 'publisher', publisherIds: [w.pubP.id] });
  });
  afterAll(async () => {
    await log?.close();
    await t?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const get = (url: string, headers = t.admin.headers) => t.app.inject({ method: 'GET', url, headers });
  const range = 'from=2026-01-15&to=2026-01-16';

  it('sums measures by day and line item, with names, derived rates from sums, money in micros and totals', async () => {
    const res = await get(
      `/api/v1/reports?measures=impressions,clicks,spend,ctr,ecpm,viewability&dimensions=day,line_item&${range}&timeZone=UTC`,
    );
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.columns).toEqual([
      'day',
      'line_item',
      'line_item_name',
      'impressions',
      'clicks',
      'spend_micros',
      'spend',
      'ctr',
      'ecpm_micros',
      'ecpm',
      'viewability',
    ]);
    const a15 = body.rows.find(
      (r: Record<string, unknown>) => r['day'] === '2026-01-15' && r['line_item'] === w.liA.id,
    );
    expect(a15).toMatchObject({
      line_item_name: '=HYPERLINK("x")',
      // 3 at 10:00 and 1 at 23:30 UTC
      impressions: 4,
      clicks: 1,
      spend_micros: 10_000,
      spend: '0.010000',
      ctr: 0.25,
      ecpm_micros: 2_500_000,
      viewability: 0.25,
    });
    // Requests fill no line item: their row has an empty line item and no name.
    const unfilled = body.rows.find((r: Record<string, unknown>) => r['line_item'] === '');
    expect(unfilled).toMatchObject({ line_item_name: null, impressions: 0, ctr: null, ecpm_micros: null });
    // Totals over the range (today's delivery events are outside it).
    expect(body.totals).toMatchObject({ impressions: 6, clicks: 1, spend_micros: 15_000, ctr: 0.166667 });
  });

  it('interprets the range and the day labels in the chosen time zone', async () => {
    const q = 'measures=impressions&dimensions=day&from=2026-01-16&to=2026-01-16';
    const utc = (await get(`/api/v1/reports?${q}&timeZone=UTC`)).json();
    const paris = (await get(`/api/v1/reports?${q}&timeZone=Europe/Paris`)).json();
    expect(utc.rows).toEqual([]);
    expect(paris.rows).toEqual([{ day: '2026-01-16', impressions: 1 }]);
    const hours = (
      await get(`/api/v1/reports?measures=impressions&dimensions=hour&${range}&timeZone=Asia/Kolkata`)
    ).json();
    // Hour buckets are UTC hours labelled by their local start: 10:00 UTC is 15:30 in Kolkata.
    expect(hours.rows.map((r: { hour: string }) => r.hour)).toEqual(['2026-01-15T15:30', '2026-01-16T04:30']);
  });

  it('counts requests per placement for fill rate, and invalid events by reason', async () => {
    const fill = (
      await get(`/api/v1/reports?measures=requests,impressions,fill_rate&dimensions=placement&${range}`)
    ).json();
    const p = fill.rows.find((r: Record<string, unknown>) => r['placement'] === w.plP.id);
    expect(p).toMatchObject({ requests: 4, impressions: 4, fill_rate: 1, placement_name: 'placement' });
    const inv = (await get(`/api/v1/reports?measures=invalid_events&dimensions=reason&${range}`)).json();
    expect(inv.rows).toEqual([
      { reason: 'bot', invalid_events: 1 },
      { reason: 'duplicate', invalid_events: 2 },
    ]);
    expect(inv.totals).toEqual({ invalid_events: 3 });
  });

  it('exports CSV with a header, RFC 4180 quoting, formula-safe names and a totals row', async () => {
    const res = await get(
      `/api/v1/reports?measures=impressions,spend&dimensions=advertiser&${range}&format=csv&sort=-impressions`,
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.body).toBe(
      'advertiser,advertiser_name,impressions,spend_micros,spend\r\n' +
        `${w.advA.id},"Acme, ""the"" best",4,10000,0.010000\r\n` +
        `${w.advB.id},Other,2,5000,0.005000\r\n` +
        ',,0,0,0.000000\r\n' + // unfilled requests: no advertiser
        'Total,,6,15000,0.015000\r\n',
    );
    const li = await get(
      `/api/v1/reports?measures=impressions&dimensions=line_item&${range}&format=csv&filters=line_item:${w.liA.id}`,
    );
    expect(li.body.split('\r\n')[1]).toBe(`${w.liA.id},"'=HYPERLINK(""x"")",4`);
  });

  it('shows an advertiser only its own rows, never revenue; a filter cannot widen the scope', async () => {
    const mine = (
      await get(`/api/v1/reports?measures=impressions,spend&dimensions=advertiser&${range}`, advUser.headers)
    ).json();
    expect(mine.rows.map((r: Record<string, unknown>) => r['advertiser'])).toEqual([w.advA.id]);
    expect(mine.totals.impressions).toBe(4);
    const theirs = await get(
      `/api/v1/reports?measures=impressions&dimensions=line_item&${range}&filters=advertiser:${w.advB.id}`,
      advUser.headers,
    );
    expect(theirs.statusCode).toBe(200);
    expect(theirs.json().rows).toEqual([]);
    expect(theirs.body).not.toContain(w.liB.id);
    expect((await get(`/api/v1/reports?measures=revenue&${range}`, advUser.headers)).statusCode).toBe(403);
  });

  it('shows a publisher its own rows with revenue, never spend nor line items', async () => {
    const res = await get(
      `/api/v1/reports?measures=impressions,revenue&dimensions=publisher,advertiser&${range}`,
      pubUser.headers,
    );
    expect(res.statusCode).toBe(200);
    const rows = res.json().rows.filter((r: { advertiser: string }) => r.advertiser !== ''); // '' = requests
    expect(rows).toEqual([
      expect.objectContaining({ publisher: w.pubP.id, advertiser: w.advA.id, impressions: 4, revenue_micros: 6_000 }),
    ]);
    expect((await get(`/api/v1/reports?measures=spend&${range}`, pubUser.headers)).statusCode).toBe(403);
    expect((await get(`/api/v1/reports?measures=ecpm&${range}`, pubUser.headers)).statusCode).toBe(403);
    expect(
      (await get(`/api/v1/reports?dimensions=line_item&measures=impressions&${range}`, pubUser.headers)).statusCode,
    ).toBe(403);
    const other = await get(
      `/api/v1/reports?measures=impressions&filters=publisher:${w.pubQ.id}&${range}`,
      pubUser.headers,
    );
    expect(other.json().totals.impressions).toBe(0);
  });

  it('answers bad parameters with a 400 naming the valid values', async () => {
    const unknown = await get('/api/v1/reports?measures=impressions,nope');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.body).toContain('valid measures: requests, impressions');
    const cases = [
      'dimensions=planet',
      'from=2026-02-30',
      'from=2026-03-01&to=2026-02-01',
      'from=2020-01-01&to=2026-01-01',
      'dimensions=hour&from=2026-01-01&to=2026-03-01',
      'timeZone=Mars/Olympus',
      'format=xml',
      'limit=0',
      'sort=clicks&measures=impressions',
      'filters=line_item:',
      'dimensions=day,month',
      'dimensions=reason&measures=impressions',
    ];
    for (const q of cases) {
      const res = await get(`/api/v1/reports?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(res.json().details.length, q).toBeGreaterThan(0);
    }
  });

  it('never answers a 5xx to fuzzed parameters', async () => {
    let rng = 0x2545f491;
    const random = () => {
      rng ^= rng << 13;
      rng ^= rng >>> 17;
      rng ^= rng << 5;
      return (rng >>> 0) / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const values = [
      'impressions',
      'spend,ctr',
      'day,line_item',
      'hour',
      '2026-01-15',
      '9999-99-99',
      '',
      ',,,',
      '%00',
      "'; drop table rollup_hourly; --",
      'UTC',
      'Europe/Paris',
      'x'.repeat(300),
      'advertiser:a|b',
      'country:FR',
      '-impressions',
      '1e9',
      '%F0%9F%92%A9',
      'csv',
    ];
    const keys = ['measures', 'dimensions', 'from', 'to', 'timeZone', 'filters', 'format', 'sort', 'limit', 'bogus'];
    for (let i = 0; i < 400; i++) {
      const parts = Array.from({ length: 1 + Math.floor(random() * 4) }, () => `${pick(keys)}=${pick(values)}`);
      const res = await get(
        `/api/v1/reports?${parts.join('&')}`,
        pick([t.admin.headers, advUser.headers, pubUser.headers]),
      );
      expect(res.statusCode, parts.join('&')).toBeLessThan(500);
    }
  });

  it('reports delivery against plan per line item, scoped to the advertiser', async () => {
    const res = await get('/api/v1/reports/delivery', advUser.headers);
    expect(res.statusCode).toBe(200);
    const items = res.json().items;
    expect(items.map((i: { lineItemId: string }) => i.lineItemId)).toEqual([w.liA.id]);
    const a = items[0];
    expect(a).toMatchObject({
      goalKind: 'budget',
      lifetimeGoal: 100_000_000,
      basis: 'lifetime',
      delivered: { spendMicros: 14 * 2_500, impressions: 14 },
      // Half-way through an even flight, 50 units of 100 are expected; 0.0375 delivered is far behind.
      status: 'behind',
    });
    expect(a.today.impressions).toBeGreaterThanOrEqual(10);
    expect(a.expectedByNow).toBeGreaterThan(49_000_000);
    expect(a.expectedByNow).toBeLessThan(51_000_000);
    expect((await get('/api/v1/reports/delivery', pubUser.headers)).statusCode).toBe(403);
    const all = (await get('/api/v1/reports/delivery')).json().items;
    expect(all.map((i: { lineItemId: string }) => i.lineItemId).sort()).toEqual([w.liA.id, w.liB.id].sort());
  });
});
