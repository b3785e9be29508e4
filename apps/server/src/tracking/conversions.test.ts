import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servingOf, trackingOf } from '../app.ts';
import { createTestApp, type TestApp, type TestUser } from '../testing/test-app.ts';
import { decide, pathOf, readAll, seedWorld, testClock, type World } from './tracking-world.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function ready(t: TestApp) {
  const { seq } = await t.store.feed.loadSnapshot();
  expect(await servingOf(t.app).state.waitFor(seq)).toBe(true);
}

describe('conversion pixel: last-touch attribution (click 30 days, view 1 day) and order dedup', () => {
  let t: TestApp;
  let w: World;
  const clock = testClock();
  beforeAll(async () => {
    t = await createTestApp({ now: clock.now });
    w = await seedWorld(t.store);
    await ready(t);
  });
  afterAll(async () => {
    await t?.close();
  });
  const lastEvent = async () => (await readAll(trackingOf(t.app).log)).at(-1)!;
  const pixel = (q: string) => t.app.inject({ method: 'GET', url: `/t/conversion?${q}` });

  it('attributes to the click of the user key and charges the CPA rate once per order', async () => {
    const { ad } = await decide(t.app, w.placements.cpa, 'buyer-1');
    await t.app.inject({ method: 'GET', url: pathOf(ad!.tracking.impression) });
    expect((await t.app.inject({ method: 'GET', url: pathOf(ad!.clickUrl!) })).statusCode).toBe(302);
    clock.advance(2 * HOUR);
    const res = await pixel(`advertiser=${w.advA}&user=buyer-1&order=A-1&value=19.99&currency=USD`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(await lastEvent()).toMatchObject({
      kind: 'conversion',
      verdict: 'valid',
      attribution: 'click',
      decisionId: ad!.decisionId,
      lineItemId: w.lineItems.cpa,
      priceMicros: 20_000_000,
      valueMicros: 19_990_000,
      orderId: 'A-1',
    });
    expect(servingOf(t.app).spend.lifetime(w.lineItems.cpa)?.spendMicros).toBe(20_000_000);
    await pixel(`advertiser=${w.advA}&user=buyer-1&order=A-1&value=19.99`);
    expect(await lastEvent()).toMatchObject({
      kind: 'conversion',
      verdict: 'invalid',
      reason: 'duplicate',
      priceMicros: 0,
    });
    expect(servingOf(t.app).spend.lifetime(w.lineItems.cpa)?.spendMicros).toBe(20_000_000);
  });

  it('attributes by click id (from the landing URL) without a user key', async () => {
    const { ad } = await decide(t.app, w.placements.cpc, 'someone');
    const landing = new URL(
      (await t.app.inject({ method: 'GET', url: pathOf(ad!.clickUrl!) })).headers.location as string,
    );
    const clickId = landing.searchParams.get('c')!;
    await pixel(`advertiser=${w.advA}&click=${clickId}&order=B-1`);
    // A CPC line item's conversion is attributed but not charged (the click was).
    expect(await lastEvent()).toMatchObject({ attribution: 'click', lineItemId: w.lineItems.cpc, priceMicros: 0 });
  });

  it('falls back to a view within a day; nothing after; another advertiser never gets the touch', async () => {
    const { ad } = await decide(t.app, w.placements.cpa, 'viewer-1');
    await t.app.inject({ method: 'GET', url: pathOf(ad!.tracking.impression) });
    clock.advance(20 * HOUR);
    await pixel(`advertiser=${w.advB}&user=viewer-1&order=V-0`);
    expect(await lastEvent()).toMatchObject({ verdict: 'valid', attribution: '', lineItemId: '', priceMicros: 0 });
    await pixel(`advertiser=${w.advA}&user=viewer-1&order=V-1`);
    expect(await lastEvent()).toMatchObject({
      attribution: 'view',
      lineItemId: w.lineItems.cpa,
      priceMicros: 20_000_000,
    });
    clock.advance(5 * HOUR); // 25 h after the view
    await pixel(`advertiser=${w.advA}&user=viewer-1&order=V-2`);
    expect(await lastEvent()).toMatchObject({ verdict: 'valid', attribution: '', lineItemId: '', priceMicros: 0 });
  });

  it('a click older than 30 days is out of the window', async () => {
    const { ad } = await decide(t.app, w.placements.cpa, 'late-buyer');
    await t.app.inject({ method: 'GET', url: pathOf(ad!.clickUrl!) });
    clock.advance(29 * DAY);
    await pixel(`advertiser=${w.advA}&user=late-buyer&order=L-1`);
    expect(await lastEvent()).toMatchObject({ attribution: 'click' });
    clock.advance(2 * DAY);
    await pixel(`advertiser=${w.advA}&user=late-buyer&order=L-2`);
    expect(await lastEvent()).toMatchObject({ attribution: '', priceMicros: 0 });
  });

  it('malformed and unknown-advertiser conversions: GIF, recorded invalid', async () => {
    for (const [q, reason] of [
      [`advertiser=${w.advA}&value=abc`, 'malformed'],
      [`advertiser=${w.advA}&value=1.1234567`, 'malformed'],
      ['advertiser=adv_nope', 'unknown_advertiser'],
      ['', 'unknown_advertiser'],
      [`advertiser=${w.advA}&order=${'x'.repeat(300)}`, 'malformed'],
    ] as const) {
      const res = await pixel(q);
      expect(res.statusCode, q).toBe(200);
      expect(await lastEvent(), q).toMatchObject({ kind: 'conversion', verdict: 'invalid', reason, priceMicros: 0 });
    }
  });
});

describe('postback secret, postback and batch ingestion', () => {
  let t: TestApp;
  let w: World;
  let advA: TestUser;
  let advB: TestUser;
  let pubUser: TestUser;
  beforeAll(async () => {
    t = await createTestApp();
    w = await seedWorld(t.store);
    await ready(t);
    advA = await t.createUser({ role: 'advertiser', advertiserIds: [w.advA] });
    advB = await t.createUser({ role: 'advertiser', advertiserIds: [w.advB] });
    pubUser = await t.createUser({ role: 'publisher', publisherIds: [w.publisher] });
  });
  afterAll(async () => {
    await t?.close();
  });
  const lastEvent = async () => (await readAll(trackingOf(t.app).log)).at(-1)!;

  it('the advertiser creates, reads and rotates its secret; others cannot', async () => {
    const url = `/api/v1/advertisers/${w.advA}/postback-secret`;
    expect((await t.app.inject({ method: 'GET', url, headers: advA.headers })).json()).toEqual({
      advertiserId: w.advA,
      postbackSecret: null,
    });
    const created = await t.app.inject({ method: 'POST', url, headers: advA.headers });
    expect(created.statusCode).toBe(200);
    const secret = created.json().postbackSecret as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await t.app.inject({ method: 'GET', url, headers: t.admin.headers })).json().postbackSecret).toBe(secret);
    for (const u of [advB, pubUser]) {
      expect((await t.app.inject({ method: 'GET', url, headers: u.headers })).statusCode).toBe(404);
      expect((await t.app.inject({ method: 'POST', url, headers: u.headers })).statusCode).toBe(404);
    }
    const rotated = (await t.app.inject({ method: 'POST', url, headers: t.admin.headers })).json().postbackSecret;
    expect(rotated).not.toBe(secret);
    // A read-only user may see the advertiser, not the secret that lets its holder record billable conversions.
    const readonly = await t.createUser({ role: 'readonly' });
    expect((await t.app.inject({ method: 'GET', url, headers: readonly.headers })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'POST', url, headers: readonly.headers })).statusCode).toBe(403);
    const seen = await t.app.inject({ method: 'GET', url: `/api/v1/advertisers/${w.advA}`, headers: readonly.headers });
    expect(seen.statusCode).toBe(200);
    expect(seen.json()).not.toHaveProperty('postbackSecret');
    const listed = await t.app.inject({ method: 'GET', url: '/api/v1/advertisers', headers: t.admin.headers });
    expect(listed.body).not.toContain(rotated);
    // The secret cannot be set through the entity API, and the audit log records rotations without the value.
    const setDirectly = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/advertisers/${w.advA}`,
      headers: { ...t.admin.headers, 'if-match': `"${seen.json().version}"` },
      payload: { postbackSecret: 'A'.repeat(43) },
    });
    expect(setDirectly.statusCode).toBe(400);
    const audit = await t.app.inject({
      method: 'GET',
      url: `/api/v1/audit-log?entityId=${w.advA}`,
      headers: t.admin.headers,
    });
    expect(audit.statusCode).toBe(200);
    expect(audit.body).not.toContain(secret);
    expect(audit.body).not.toContain(rotated);
    expect(audit.body).toMatch(/\[redacted sha256:[0-9a-f]{8}\]/);
    // A PATCH of the advertiser keeps the secret.
    const adv = (
      await t.app.inject({ method: 'GET', url: `/api/v1/advertisers/${w.advA}`, headers: advA.headers })
    ).json();
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/advertisers/${w.advA}`,
      headers: { ...advA.headers, 'if-match': `"${adv.version}"` },
      payload: { notes: 'hello' },
    });
    expect(patched.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url, headers: advA.headers })).json().postbackSecret).toBe(rotated);
  });

  it('postback: the right secret attributes and charges; a wrong one is a 401, recorded and not counted', async () => {
    const url = `/api/v1/advertisers/${w.advA}/postback-secret`;
    const secret = (await t.app.inject({ method: 'POST', url, headers: advA.headers })).json().postbackSecret as string;
    const { seq } = await t.store.feed.loadSnapshot();
    await servingOf(t.app).state.waitFor(seq);
    const { ad } = await decide(t.app, w.placements.cpa, 'pb-user');
    await t.app.inject({ method: 'GET', url: pathOf(ad!.clickUrl!) });
    const body = { advertiserId: w.advA, orderId: 'PB-1', value: '42.50', userKey: 'pb-user' };
    const spendBefore = servingOf(t.app).spend.lifetime(w.lineItems.cpa)?.spendMicros ?? 0;
    for (const headers of [
      { authorization: 'Bearer wrong-secret-wrong-secret-wrong-secret-00' },
      // The last character changed (to another one: a secret ending in "A" made this case pass once in 64).
      { 'x-marquee-postback-secret': `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}` },
      {},
    ]) {
      const bad = await t.app.inject({ method: 'POST', url: '/v1/conversions', headers, payload: body });
      expect(bad.statusCode).toBe(401);
      expect(await lastEvent()).toMatchObject({ kind: 'conversion', verdict: 'invalid', reason: 'bad_secret' });
    }
    // Advertiser B's secret does not authenticate A's conversions.
    const secretB = (
      await t.app.inject({
        method: 'POST',
        url: `/api/v1/advertisers/${w.advB}/postback-secret`,
        headers: advB.headers,
      })
    ).json().postbackSecret as string;
    await servingOf(t.app).state.waitFor((await t.store.feed.loadSnapshot()).seq);
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/v1/conversions',
          headers: { authorization: `Bearer ${secretB}` },
          payload: body,
        })
      ).statusCode,
    ).toBe(401);
    expect(servingOf(t.app).spend.lifetime(w.lineItems.cpa)?.spendMicros ?? 0).toBe(spendBefore);

    const good = await t.app.inject({
      method: 'POST',
      url: '/v1/conversions',
      headers: { authorization: `Bearer ${secret}` },
      payload: body,
    });
    expect(good.statusCode).toBe(202);
    expect(good.json()).toMatchObject({
      verdict: 'valid',
      attribution: 'click',
      lineItemId: w.lineItems.cpa,
      priceMicros: 20_000_000,
    });
    expect(await lastEvent()).toMatchObject({ valueMicros: 42_500_000, source: 'postback' });
    const dup = await t.app.inject({
      method: 'POST',
      url: '/v1/conversions',
      headers: { authorization: `Bearer ${secret}` },
      payload: body,
    });
    expect(dup.json()).toMatchObject({ verdict: 'invalid', reason: 'duplicate', priceMicros: 0 });
    expect(servingOf(t.app).spend.lifetime(w.lineItems.cpa)?.spendMicros).toBe(spendBefore + 20_000_000);
    // Schema errors are a 400, never a 5xx.
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/v1/conversions',
      headers: { authorization: `Bearer ${secret}` },
      payload: { advertiserId: w.advA, value: 12.5 },
    });
    expect(malformed.statusCode).toBe(400);
  });

  it('batch: per-event results after one append (JSON array and NDJSON)', async () => {
    const key = await t.apiKey(advA.headers, 'write');
    const ads = [];
    for (let i = 0; i < 3; i++) ads.push((await decide(t.app, w.placements.cpm, `batch-${i}`)).ad!);
    const token = (url: string) => url.split('/').at(-1)!.split('?')[0]!;
    const before = servingOf(t.app).spend.lifetime(w.lineItems.cpm) ?? { spendMicros: 0, impressions: 0 };
    const log = trackingOf(t.app).log;
    const endBefore = await log.end();
    /** The stored-events counter of /metrics for one kind and verdict (counted once per batch and label pair). */
    const counted = async (kind: string, verdict: string) => {
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      const m = new RegExp(`marquee_tracking_events_total\\{kind="${kind}",verdict="${verdict}"\\} (\\d+)`).exec(text);
      return m ? Number(m[1]) : 0;
    };
    const labels = [
      ['impression', 'valid'],
      ['impression', 'duplicate'],
      ['impression', 'bad_signature'],
      ['viewable', 'valid'],
      ['conversion', 'valid'],
    ] as const;
    const countsBefore = await Promise.all(labels.map(([k, v]) => counted(k, v)));
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: key.headers,
      payload: [
        { kind: 'impression', token: token(ads[0]!.tracking.impression), ip: '192.0.2.1', ua: 'server' },
        { kind: 'impression', token: token(ads[0]!.tracking.impression) },
        { kind: 'impression', token: `${token(ads[1]!.tracking.impression)}x` },
        { kind: 'viewable', token: token(ads[1]!.tracking.viewable) },
        { kind: 'custom', token: token(ads[2]!.tracking.custom), name: 'complete' },
        { kind: 'conversion', advertiserId: w.advA, orderId: 'BATCH-1', value: '5' },
        { kind: 'conversion', advertiserId: w.advB, orderId: 'BATCH-2' },
        { kind: 'teleport' },
        'not an object',
        { kind: 'click' },
      ],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(
      body.results.map((r: { status: string; reason?: string }) => `${r.status}${r.reason ? `:${r.reason}` : ''}`),
    ).toEqual([
      'accepted',
      'duplicate:duplicate',
      'rejected:bad_signature',
      'accepted',
      'accepted',
      'accepted',
      'rejected:forbidden',
      'rejected:unknown_kind',
      'rejected:malformed',
      'rejected:missing_token',
    ]);
    expect(body).toMatchObject({ accepted: 4, duplicates: 1, rejected: 5 });
    const countsAfter = await Promise.all(labels.map(([k, v]) => counted(k, v)));
    expect(countsAfter.map((n, i) => n - countsBefore[i]!)).toEqual([1, 1, 1, 1, 1]);
    // One append: the six recorded events (4 accepted, the duplicate, the forged one) are contiguous.
    const { events } = await log.read(endBefore, 100);
    const batchEvents = events
      .map((r) => JSON.parse(Buffer.from(r.data).toString()))
      .filter((e) => e.source === 'batch');
    expect(batchEvents).toHaveLength(6);
    expect(batchEvents[0]).toMatchObject({ ip: '192.0.2.1', ua: 'server', verdict: 'valid' });
    expect(servingOf(t.app).spend.lifetime(w.lineItems.cpm)).toEqual({
      spendMicros: before.spendMicros + 4_000,
      impressions: before.impressions + 1,
    });

    const ndjson = `${JSON.stringify({ kind: 'impression', token: token(ads[1]!.tracking.impression) })}\n{broken\n\n${JSON.stringify({ kind: 'impression', token: token(ads[0]!.tracking.impression) })}\n`;
    const nd = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { ...key.headers, 'content-type': 'application/x-ndjson' },
      payload: ndjson,
    });
    expect(nd.statusCode).toBe(200);
    expect(nd.json().results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected', 'duplicate']);

    const tooMany = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: key.headers,
      payload: Array.from({ length: 10_001 }, () => ({ kind: 'impression', token: 'x' })),
    });
    expect(tooMany.statusCode).toBe(400);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: [] })).statusCode).toBe(401);
    const readKey = await t.apiKey(advA.headers, 'read');
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: readKey.headers, payload: [] })).statusCode,
    ).toBe(403);
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: key.headers, payload: { kind: 'x' } }))
        .statusCode,
    ).toBe(400);
  });
});
