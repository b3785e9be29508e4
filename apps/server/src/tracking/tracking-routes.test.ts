import { BudgetPacingGate } from '@marquee/decision';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servingOf, trackingOf } from '../app.ts';
import { createTestApp, type TestApp } from '../testing/test-app.ts';
import { PIXEL_GIF } from './tracking-routes.ts';
import { decide, pathOf, readAll, seedWorld, T0, testClock, type World } from './tracking-world.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('tracking endpoints', () => {
  let t: TestApp;
  let w: World;
  const clock = testClock();

  beforeAll(async () => {
    t = await createTestApp({ now: clock.now });
    w = await seedWorld(t.store);
    const { seq } = await t.store.feed.loadSnapshot();
    expect(await servingOf(t.app).state.waitFor(seq)).toBe(true);
  });
  afterAll(async () => {
    await t?.close();
  });

  const events = () => readAll(trackingOf(t.app).log);
  const lastEvent = async () => (await events()).at(-1)!;
  const hit = (method: 'GET' | 'POST', url: string) => t.app.inject({ method, url });
  const spend = (lineItemId: string) => servingOf(t.app).spend.lifetime(lineItemId);

  it('impression pixel: GIF once durable, valid and billed once; a repeat is recorded as duplicate', async () => {
    const { ad } = await decide(t.app, w.placements.cpm);
    expect(ad?.lineItemId).toBe(w.lineItems.cpm);
    const first = await hit('GET', pathOf(ad!.tracking.impression));
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('image/gif');
    expect(first.rawPayload.equals(PIXEL_GIF)).toBe(true);
    expect(first.headers['cache-control']).toContain('no-store');
    expect(first.headers['cross-origin-resource-policy']).toBe('cross-origin');
    const e = await lastEvent();
    expect(e).toMatchObject({
      kind: 'impression',
      verdict: 'valid',
      reason: '',
      decisionId: ad!.decisionId,
      lineItemId: w.lineItems.cpm,
      advertiserId: w.advA,
      placementId: w.placements.cpm,
      priceMicros: 4_000, // 4 USD CPM per impression
      pricingModel: 'cpm',
      rateMicros: 4_000,
      source: 'pixel',
    });
    expect(spend(w.lineItems.cpm)).toEqual({ spendMicros: 4_000, impressions: 1 });

    const again = await hit('POST', pathOf(ad!.tracking.impression));
    expect(again.statusCode).toBe(204);
    expect(await lastEvent()).toMatchObject({
      kind: 'impression',
      verdict: 'invalid',
      reason: 'duplicate',
      priceMicros: 0,
    });
    expect(spend(w.lineItems.cpm)).toEqual({ spendMicros: 4_000, impressions: 1 });
  });

  it('viewable beacon: one per decision, never billed', async () => {
    const { ad } = await decide(t.app, w.placements.cpm);
    expect((await hit('POST', pathOf(ad!.tracking.viewable))).statusCode).toBe(204);
    expect(await lastEvent()).toMatchObject({ kind: 'viewable', verdict: 'valid', priceMicros: 0 });
    expect((await hit('GET', pathOf(ad!.tracking.viewable))).statusCode).toBe(200);
    expect(await lastEvent()).toMatchObject({ kind: 'viewable', verdict: 'invalid', reason: 'duplicate' });
  });

  it('altered, foreign-key, malformed, wrong-kind and preview tokens: harmless answers, recorded invalid, no money', async () => {
    const { ad } = await decide(t.app, w.placements.cpm);
    const token = ad!.tracking.impression.split('/').at(-1)!;
    const [kid, payload, sig] = token.split('.') as [string, string, string];
    // A payload claiming a higher price, keeping the signature.
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims[13] = 999_999; // priceMicros in the token's positional payload
    const richer = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const before = spend(w.lineItems.cpm);
    const cases: [string, string][] = [
      [`/t/impression/${kid}.${richer}.${sig}`, 'bad_signature'],
      [`/t/impression/${kid}.${payload}.${sig.slice(0, -2)}AA`, 'bad_signature'],
      [`/t/impression/zz.${payload}.${sig}`, 'unknown_key'],
      ['/t/impression/not-a-token', 'malformed'],
      [`/t/impression/${kid}.${payload.slice(5)}.${sig}`, 'malformed'],
      ['/t/impression/preview', 'preview'],
    ];
    for (const [url, reason] of cases) {
      const res = await hit('GET', url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('image/gif');
      const e = await lastEvent();
      expect(e, url).toMatchObject({ verdict: 'invalid', reason, priceMicros: 0 });
      // Forged claims never become report dimensions.
      expect(e.lineItemId).toBe('');
    }
    expect(spend(w.lineItems.cpm)).toEqual(before);
    // The genuine token still counts once.
    expect((await hit('GET', pathOf(ad!.tracking.impression))).statusCode).toBe(200);
    expect(await lastEvent()).toMatchObject({ verdict: 'valid', decisionId: ad!.decisionId });
  });

  it('expired tokens are recorded with their (genuine) ids as expired, never billed', async () => {
    const { ad } = await decide(t.app, w.placements.cpm);
    const before = spend(w.lineItems.cpm);
    clock.advance(DAY + 1000); // past the 24 h token TTL
    try {
      expect((await hit('GET', pathOf(ad!.tracking.impression))).statusCode).toBe(200);
      expect(await lastEvent()).toMatchObject({
        verdict: 'invalid',
        reason: 'expired',
        decisionId: ad!.decisionId,
        lineItemId: w.lineItems.cpm,
        priceMicros: 0,
      });
      expect(spend(w.lineItems.cpm)).toEqual(before);
    } finally {
      clock.set(T0);
    }
  });

  it('click: 302 to the signed landing URL with macros expanded; CPC billed once; duplicates still land', async () => {
    const { ad } = await decide(t.app, w.placements.cpc, 'clicker');
    expect(ad?.clickUrl).toBeTruthy();
    const res = await hit('GET', pathOf(ad!.clickUrl!));
    expect(res.statusCode).toBe(302);
    const location = new URL(res.headers.location as string);
    expect(location.origin).toBe('https://cpc.example');
    expect(location.searchParams.get('c')).toBe(ad!.decisionId);
    expect(location.searchParams.get('p')).toBe(w.placements.cpc);
    expect(location.searchParams.get('cb')).toMatch(/^\d+$/);
    expect(await lastEvent()).toMatchObject({
      kind: 'click',
      verdict: 'valid',
      priceMicros: 500_000,
      source: 'redirect',
    });
    expect(spend(w.lineItems.cpc)).toEqual({ spendMicros: 500_000, impressions: 0 });

    const again = await hit('GET', pathOf(ad!.clickUrl!));
    expect(again.statusCode).toBe(302);
    expect(await lastEvent()).toMatchObject({ kind: 'click', verdict: 'invalid', reason: 'duplicate', priceMicros: 0 });
    expect(spend(w.lineItems.cpc)).toEqual({ spendMicros: 500_000, impressions: 0 });
  });

  it('click redirects only to destinations Marquee signed (open-redirect attempts)', async () => {
    const { ad } = await decide(t.app, w.placements.cpc);
    const token = ad!.clickUrl!.split('/').at(-1)!;
    const [kid, payload, sig] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims[17] = 'https://evil.example/'; // the click's landing URL in the token's positional payload
    const evil = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const attacks = [
      `/t/click/${kid}.${evil}.${sig}`,
      `/t/click/${token}x`,
      `/t/click/preview`,
      `/t/click/x?url=https://evil.example/`,
      `/t/click/${encodeURIComponent('//evil.example')}`,
      `/t/click/${encodeURIComponent('https://evil.example')}`,
      `/t/click/..%2F..%2Fevil.example`,
    ];
    for (const url of attacks) {
      const res = await hit('GET', url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers.location, url).toBeUndefined();
      expect(res.body).not.toContain('evil');
      expect(res.headers['content-type']).toContain('text/html');
      expect((await lastEvent()).verdict).toBe('invalid');
    }
  });

  it('one token per ad: its kinds count separately; a click needs a signed destination', async () => {
    const { ad } = await decide(t.app, w.placements.cpc);
    const token = ad!.clickUrl!.split('/').at(-1)!;
    // The same token under each kind path: one valid event per kind, then duplicates.
    for (const kind of ['impression', 'viewable', 'click'] as const) {
      await hit('GET', `/t/${kind}/${token}`);
      expect(await lastEvent()).toMatchObject({ kind, verdict: 'valid', decisionId: ad!.decisionId });
    }
    await hit('GET', `/t/impression/${token}`);
    expect(await lastEvent()).toMatchObject({ kind: 'impression', verdict: 'invalid', reason: 'duplicate' });
    // A genuinely signed token without a landing URL (an ad served without one): no redirect, no billed click.
    const { signer } = servingOf(t.app);
    const verified = signer.verify('click', token, clock.now());
    if (verified.kind !== 'valid') throw new Error('expected a valid token');
    const { url: _landing, ...claims } = verified.claims;
    const noLanding = signer.sign({ ...claims, decisionId: 'dec_no_landing' });
    const before = spend(w.lineItems.cpc);
    const res = await hit('GET', `/t/click/${noLanding}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers.location).toBeUndefined();
    expect(await lastEvent()).toMatchObject({
      kind: 'click',
      verdict: 'invalid',
      reason: 'no_click_url',
      priceMicros: 0,
    });
    expect(spend(w.lineItems.cpc)).toEqual(before);
  });

  it('an expired click still lands on its signed destination, recorded as expired and not billed', async () => {
    const { ad } = await decide(t.app, w.placements.cpc);
    const before = spend(w.lineItems.cpc);
    clock.advance(DAY + 1000);
    try {
      const res = await hit('GET', pathOf(ad!.clickUrl!));
      expect(res.statusCode).toBe(302);
      expect(new URL(res.headers.location as string).origin).toBe('https://cpc.example');
      expect(await lastEvent()).toMatchObject({ kind: 'click', verdict: 'invalid', reason: 'expired', priceMicros: 0 });
      expect(spend(w.lineItems.cpc)).toEqual(before);
    } finally {
      clock.set(T0);
    }
  });

  it('custom events: named, one per name and decision, bad names recorded invalid', async () => {
    const { ad } = await decide(t.app, w.placements.cpm);
    const url = (name: string) => pathOf(ad!.tracking.custom.replace('{name}', encodeURIComponent(name)));
    expect((await hit('GET', url('midpoint'))).statusCode).toBe(200);
    expect(await lastEvent()).toMatchObject({ kind: 'custom', name: 'midpoint', verdict: 'valid' });
    expect((await hit('POST', url('complete'))).statusCode).toBe(204);
    expect(await lastEvent()).toMatchObject({ kind: 'custom', name: 'complete', verdict: 'valid' });
    await hit('GET', url('midpoint'));
    expect(await lastEvent()).toMatchObject({ name: 'midpoint', verdict: 'invalid', reason: 'duplicate' });
    await hit('GET', url('<script>'));
    expect(await lastEvent()).toMatchObject({ kind: 'custom', verdict: 'invalid', reason: 'bad_name' });
  });

  it('beacons with odd bodies and content types are still answered and recorded', async () => {
    const { ad } = await decide(t.app, w.placements.cpm);
    const res = await t.app.inject({
      method: 'POST',
      url: pathOf(ad!.tracking.viewable),
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(res.statusCode).toBe(204);
    expect(await lastEvent()).toMatchObject({ kind: 'viewable', verdict: 'valid', decisionId: ad!.decisionId });
  });

  it('the budget gate stops a line item once valid impressions spent its budget (decision → pixel → no-fill)', async () => {
    const first = await decide(t.app, w.placements.budget);
    expect(first.ad?.lineItemId).toBe(w.lineItems.budget);
    // Forged and preview hits move no money. (The next decision may already be a no-fill: serving reserves
    // the expected cost against the budget lease at decision time, see docs/concepts/pacing.md.)
    await hit('GET', '/t/impression/preview');
    await hit('GET', `${pathOf(first.ad!.tracking.impression)}x`);
    expect(spend(w.lineItems.budget)?.spendMicros ?? 0).toBe(0);
    await hit('GET', pathOf(first.ad!.tracking.impression));
    expect(spend(w.lineItems.budget)).toEqual({ spendMicros: 4_000, impressions: 1 });
    const next = await decide(t.app, w.placements.budget);
    expect(next.ad).toBeUndefined();
    expect(next.noFill).toBe('no_eligible');
    // The reason is the budget gate: it refuses the line item now, and did not before the impression.
    const gate = new BudgetPacingGate(servingOf(t.app).state.current, servingOf(t.app).spend);
    expect(gate.allow(w.lineItems.budget, clock.now(), () => 0.5)).toBe(false);
    expect(gate.allow(w.lineItems.cpm, clock.now(), () => 0.5)).toBe(true);
  });

  it('logs one request event per requested placement, filled or not, without waiting for it', async () => {
    // A time of its own: the request events of earlier tests (at T0, not awaited) may still be landing.
    clock.set(T0 + 7);
    const isRequest = (e: { kind: string; tsMs: number }) => e.kind === 'request' && e.tsMs === T0 + 7;
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: { placements: [{ id: w.placements.cpm }, { id: w.placements.budget }, { id: 'plc_unknown1' }] },
    });
    const requestId = res.json().requestId as string;
    expect(requestId).toBeTruthy();
    let requests: Awaited<ReturnType<typeof events>> = [];
    for (let i = 0; i < 100 && requests.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 10));
      requests = (await events()).filter(isRequest);
    }
    clock.set(T0);
    expect(requests.map((e) => e.placementId).sort()).toEqual(
      [w.placements.cpm, w.placements.budget, 'plc_unknown1'].sort(),
    );
    const filled = requests.find((e) => e.placementId === w.placements.cpm)!;
    expect(filled).toMatchObject({
      lineItemId: w.lineItems.cpm,
      publisherId: w.publisher,
      priceMicros: 0,
      verdict: 'valid',
    });
    expect(requests.find((e) => e.placementId === w.placements.budget)!.lineItemId).toBe('');
  });
});
