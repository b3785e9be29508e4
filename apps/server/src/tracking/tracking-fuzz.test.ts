/**
 * 10,000+ malformed, forged, replayed and oversized tracking requests: never a 5xx, never a crash, and no
 * money moves (the spend counters the budget gate reads are unchanged; replays of counted URLs are duplicates).
 */
import { mulberry32 } from '@marquee/decision';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servingOf, trackingOf } from '../app.ts';
import { createTestApp, type TestApp } from '../testing/test-app.ts';
import { decide, pathOf, readAll, seedWorld, testClock, type World } from './tracking-world.ts';

describe('tracking fuzz', () => {
  let t: TestApp;
  let w: World;
  const clock = testClock();
  beforeAll(async () => {
    t = await createTestApp({ now: clock.now });
    w = await seedWorld(t.store);
    const { seq } = await t.store.feed.loadSnapshot();
    await servingOf(t.app).state.waitFor(seq);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 10,000 hostile requests without a 5xx and without moving money', { timeout: 120_000 }, async () => {
    // Genuine URLs, already counted once: every later use is a replay.
    const genuine: string[] = [];
    for (const p of [w.placements.cpm, w.placements.cpc, w.placements.cpa]) {
      const { ad } = await decide(t.app, p, 'fuzz-user');
      for (const u of [ad!.tracking.impression, ad!.tracking.viewable, ad!.clickUrl!]) {
        genuine.push(pathOf(u));
        await t.app.inject({ method: 'GET', url: pathOf(u) });
      }
    }
    const spend = () =>
      JSON.stringify(Object.values(w.lineItems).map((id) => servingOf(t.app).spend.lifetime(id) ?? null));
    const before = spend();
    const logBefore = (await readAll(trackingOf(t.app).log)).length;

    const rng = mulberry32(20260301);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const junk = (n: number) => {
      const chars = 'abcXYZ019._-~%/?&=+{}<>"\'\\ \u00e9\u4e2d\u0000';
      let s = '';
      for (let i = 0; i < n; i++) s += chars[Math.floor(rng() * chars.length)];
      return s;
    };
    const mutate = (path: string) => {
      const i = Math.floor(rng() * path.length);
      switch (Math.floor(rng() * 5)) {
        case 0:
          return path.slice(0, i) + path.slice(i + 1);
        case 1:
          return `${path.slice(0, i)}${pick(['A', '.', '%', '/', '0', '-'])}${path.slice(i + 1)}`;
        case 2:
          return path.slice(0, i);
        case 3:
          return path + junk(1 + Math.floor(rng() * 30));
        default:
          return path.replace(
            /\/t\/(\w+)\//,
            `/t/${pick(['impression', 'viewable', 'click', 'custom', 'conversion'])}/`,
          );
      }
    };
    const kinds = ['impression', 'viewable', 'click', 'custom'];
    let fiveXX = 0;
    let answered = 0;
    const statuses = new Map<number, number>();
    const N = 10_000;
    for (let n = 0; n < N; n++) {
      let url: string;
      const r = rng();
      if (r < 0.3) url = mutate(pick(genuine));
      else if (r < 0.45)
        url = pick(genuine); // replay
      else if (r < 0.6) url = `/t/${pick(kinds)}/${encodeURIComponent(junk(Math.floor(rng() * 200)))}`;
      else if (r < 0.7) url = `/t/${pick(kinds)}/k1.${Buffer.from(junk(80)).toString('base64url')}.${junk(22)}`;
      else if (r < 0.8)
        url = `/t/conversion?advertiser=${pick([w.advA, 'adv_x', junk(10)])}&value=${encodeURIComponent(junk(6))}&order=${encodeURIComponent(junk(12))}&click=${encodeURIComponent(junk(8))}`;
      else if (r < 0.85) url = `/t/${pick(kinds)}/${'A'.repeat(5000 + Math.floor(rng() * 6000))}`;
      else if (r < 0.9)
        url = `/t/custom/${pick(genuine).split('/').at(-1)}?name=${encodeURIComponent(junk(80))}&name=x`;
      else url = `${pick(genuine)}${pick(['?', '#', '/..', '/x', '%00', '%ZZ'])}${junk(5)}`;
      const method = rng() < 0.7 ? 'GET' : 'POST';
      const res = await t.app.inject({
        method,
        url,
        ...(method === 'POST' && rng() < 0.5
          ? {
              payload: junk(Math.floor(rng() * 200)),
              headers: {
                'content-type': pick([
                  'text/plain',
                  'application/json',
                  'application/x-www-form-urlencoded',
                  'bogus/x',
                ]),
              },
            }
          : {}),
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500) fiveXX++;
      const ct = String(res.headers['content-type'] ?? '');
      if (ct === 'image/gif' || res.statusCode === 204 || res.statusCode === 302 || res.body.includes('Link expired')) {
        answered++;
      }
      if (res.statusCode === 302) {
        // Only ever to a destination Marquee signed.
        expect(new URL(res.headers.location as string).hostname).toMatch(/^(cpm|cpc|cpa)\.example$/);
      }
    }
    expect(fiveXX, JSON.stringify([...statuses])).toBe(0);
    expect(spend()).toBe(before);
    const after = await readAll(trackingOf(t.app).log);
    const recorded = after.slice(logBefore).filter((e) => e.kind !== 'request');
    // Every request a tracking handler answered left exactly one event (the rest were refused by routing:
    // 404 for unknown paths, 400 for broken percent-encoding, 414 for over-long URLs).
    expect(answered).toBeGreaterThan(N / 2);
    expect(recorded.length).toBe(answered);
    expect(recorded.filter((e) => e.verdict === 'valid' && e.kind !== 'conversion')).toEqual([]);
    expect(recorded.filter((e) => e.priceMicros !== 0)).toEqual([]);
  });
});
