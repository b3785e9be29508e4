/**
 * The node:http fast path of POST /v1/decisions, over a real socket (app.inject does not go through the server,
 * so it sees the Fastify route): the same answers, headers, errors and metrics as the route.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionFastPathStatsOf, servingOf } from '../app.ts';
import { createTestApp, type TestApp } from '../testing/test-app.ts';
import { seedWorld, testClock, type World } from '../tracking/tracking-world.ts';

describe('decision fast path', () => {
  let t: TestApp;
  let w: World;
  let base: string;
  const clock = testClock();

  beforeAll(async () => {
    t = await createTestApp({ now: clock.now });
    w = await seedWorld(t.store);
    const { seq } = await t.store.feed.loadSnapshot();
    await servingOf(t.app).state.waitFor(seq);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => t?.close());

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/decisions`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const inject = (body: string, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  // Headers whose values differ per answer or per transport.
  const VARYING = new Set(['date', 'connection', 'keep-alive', 'content-length', 'x-request-id']);
  const stable = (h: Headers | Record<string, unknown>) => {
    const entries: [string, string][] = [];
    if (h instanceof Headers) h.forEach((v, k) => entries.push([k, v]));
    else for (const [k, v] of Object.entries(h)) entries.push([k, String(v)]);
    return Object.fromEntries(entries.filter(([k]) => !VARYING.has(k)).sort(([a], [b]) => a.localeCompare(b)));
  };
  const counted = async (status: string) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`marquee_http_requests_total{method="POST",route="/v1/decisions",status="${status}"}`));
    return Number(line?.split(' ').at(-1) ?? 0);
  };

  it('answers a decision like the route: same headers, same body shape, signed URLs, counted in metrics', async () => {
    const body = JSON.stringify({ placements: [{ id: w.placements.cpm }], user: { key: 'fast-1' } });
    const before = await counted('200');
    const stats = decisionFastPathStatsOf(t.app)!;
    const answered = stats.answered;
    const res = await post(body, { 'x-request-id': 'req-fast-1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-fast-1');
    const json = await res.json();
    const viaRoute = await inject(body);
    expect(stable(res.headers)).toEqual(stable(viaRoute.headers));
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    const ad = json.decisions[w.placements.cpm][0];
    const routeAd = viaRoute.json().decisions[w.placements.cpm][0];
    expect(Object.keys(ad).sort()).toEqual(Object.keys(routeAd).sort());
    expect(ad).toMatchObject({ lineItemId: routeAd.lineItemId, placementId: w.placements.cpm });
    expect(json.noFill).toEqual({});
    const token = (url: string) => url.split('/').at(-1)!.split('?')[0]!;
    expect(servingOf(t.app).signer.verify('impression', token(ad.tracking.impression), clock.now()).kind).toBe('valid');
    // The text/plain body of the web tag takes the same path.
    const plain = await post(body, { 'content-type': 'text/plain;charset=UTF-8' });
    expect(plain.status).toBe(200);
    expect((await plain.json()).decisions[w.placements.cpm]).toHaveLength(1);
    // Two answered by the fast path, one by the route (inject): all three counted alike.
    expect(stats.answered).toBe(answered + 2);
    expect(await counted('200')).toBe(before + 3);
  });

  it('hands every other request to the route: errors have the same status and body', async () => {
    const cases: [string, Record<string, string>][] = [
      ['{not json', {}],
      [JSON.stringify({ placements: [] }), {}],
      [JSON.stringify({ placements: [{ id: w.placements.cpm }], extra: 1 }), {}],
      [JSON.stringify({ placements: [{ id: w.placements.cpm }], explain: true }), {}],
      ['{"placements":[{"id":"x"}],"__proto__":{"a":1}}', {}],
      ['{"placements":[{"id":"x"}],"kv":{"\\u005f_proto__":["a"]}}', {}],
      [JSON.stringify({ placements: [{ id: 'p' }], keywords: ['x'.repeat(70_000)] }), {}],
      [JSON.stringify({ placements: [{ id: w.placements.cpm }] }), { 'content-type': 'application/xml' }],
    ];
    const stats = decisionFastPathStatsOf(t.app)!;
    const replayed = stats.replayed;
    for (const [body, headers] of cases) {
      const res = await post(body, headers);
      const viaRoute = await inject(body, headers);
      expect(res.status, body.slice(0, 80)).toBe(viaRoute.statusCode);
      expect(res.status, body.slice(0, 80)).toBeGreaterThanOrEqual(400);
      expect(res.status, body.slice(0, 80)).toBeLessThan(500);
      const error = (await res.json()) as { code: string; requestId?: string };
      expect(error.code).toMatch(/^MQ_ERR_/);
      expect(error).toEqual({ ...viaRoute.json(), requestId: error.requestId });
      expect(stable(res.headers)).toEqual(stable(viaRoute.headers));
    }
    // Bad JSON, schema errors, explain and prototype keys were read, then replayed; the over-long body (413) and the
    // wrong content type (415) never left Fastify.
    expect(stats.replayed - replayed).toBe(6);
    // Preflights and other methods are the route's too.
    const preflight = await fetch(`${base}/v1/decisions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://pub.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    const get = await fetch(`${base}/v1/decisions`);
    expect(get.status).toBe((await t.app.inject({ method: 'GET', url: '/v1/decisions' })).statusCode);
  });
});
