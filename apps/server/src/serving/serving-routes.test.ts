import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Actor, Store } from '@marquee/store';
import { fixtures } from '@marquee/store/fixtures';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servingOf } from '../app.ts';
import { createTestApp, type TestApp, type TestUser } from '../testing/test-app.ts';

const actor: Actor = { userId: null, label: 'test' };
const XSD = join(import.meta.dirname, '../../../../../shared/data/vast/xsd/vast_4.2.xsd');

async function create<T>(p: Promise<{ kind: string; entity?: T }>): Promise<T> {
  const r = await p;
  if (r.kind !== 'ok') throw new Error(`create failed: ${r.kind}`);
  return r.entity as T;
}

interface Network {
  advA: string;
  advB: string;
  liA: string;
  liB: string;
  banner: string;
  video: string;
  inactive: string;
}

async function seed(store: Store): Promise<Network> {
  const { repos } = store;
  const advA = await create(repos.advertiser.create(fixtures.advertiser({ name: 'Alpha Air' }), actor));
  const advB = await create(repos.advertiser.create(fixtures.advertiser({ name: 'Beta Boots' }), actor));
  const pub = await create(repos.publisher.create(fixtures.publisher(), actor));
  const site = await create(repos.site.create(fixtures.site(pub.id), actor));
  const banner = await create(
    repos.placement.create(fixtures.placement(pub.id, site.id, { auction: 'second_price' }), actor),
  );
  const inactive = await create(
    repos.placement.create(fixtures.placement(pub.id, site.id, { status: 'paused' }), actor),
  );
  const video = await create(
    repos.placement.create(
      fixtures.placement(pub.id, site.id, {
        formats: ['video'],
        sizes: [],
        video: { minDurationSec: 5, maxDurationSec: 30, mimeTypes: ['video/mp4'] },
      }),
      actor,
    ),
  );
  const campA = await create(repos.campaign.create(fixtures.campaign(advA.id), actor));
  const campB = await create(repos.campaign.create(fixtures.campaign(advB.id), actor));
  const crA = await create(
    repos.creative.create(fixtures.creative(advA.id, { clickUrl: 'https://alpha.example/fly' }), actor),
  );
  const crB = await create(repos.creative.create(fixtures.creative(advB.id), actor));
  const vast = await create(
    repos.creative.create(
      fixtures.creative(advA.id, {
        kind: 'vast',
        format: 'video',
        width: undefined,
        height: undefined,
        imageUrl: undefined,
        video: {
          mediaUrl: 'https://cdn.example/a.mp4',
          mimeType: 'video/mp4',
          durationSec: 15,
          width: 640,
          height: 360,
        },
      }),
      actor,
    ),
  );
  const liA = await create(
    repos.lineItem.create(
      fixtures.lineItem(advA.id, campA.id, {
        rateMicros: 4_000_000,
        creatives: [
          { creativeId: crA.id, weight: 1 },
          { creativeId: vast.id, weight: 1 },
        ],
        targeting: { dimension: 'country', values: ['US'] },
      }),
      actor,
    ),
  );
  const liB = await create(
    repos.lineItem.create(
      fixtures.lineItem(advB.id, campB.id, { rateMicros: 2_000_000, creatives: [{ creativeId: crB.id, weight: 1 }] }),
      actor,
    ),
  );
  return {
    advA: advA.id,
    advB: advB.id,
    liA: liA.id,
    liB: liB.id,
    banner: banner.id,
    video: video.id,
    inactive: inactive.id,
  };
}

describe('serving routes', () => {
  let t: TestApp;
  let net: Network;
  let advertiserA: TestUser;
  let publisherUser: TestUser;

  beforeAll(async () => {
    t = await createTestApp({ config: { trustProxy: false } });
    net = await seed(t.store);
    const { seq } = await t.store.feed.loadSnapshot();
    expect(await servingOf(t.app).state.waitFor(seq)).toBe(true);
    advertiserA = await t.createUser({ role: 'advertiser', advertiserIds: [net.advA] });
    const pubs = await t.store.repos.publisher.list({}, { kind: 'all' });
    publisherUser = await t.createUser({ role: 'publisher', publisherIds: [pubs.items[0]!.id] });
  });
  afterAll(async () => t?.close());

  const decide = (body: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/v1/decisions', payload: body as object, headers });

  it('serves the highest eCPM at the second price, with signed tracking URLs', async () => {
    const res = await decide({ placements: [{ id: net.banner }], user: { key: 'u1' }, device: { ip: '8.8.8.8' } });
    expect(res.statusCode).toBe(200);
    const ad = res.json().decisions[net.banner][0];
    expect(ad).toMatchObject({ lineItemId: net.liA, advertiserId: net.advA, width: 300, height: 250 });
    const { signer } = servingOf(t.app);
    const token = (url: string) => url.split('/t/')[1]!.split('/')[1]!.split('?')[0]!;
    const verified = signer.verify('impression', token(ad.tracking.impression), Date.now());
    expect(verified.kind).toBe('valid');
    if (verified.kind !== 'valid') return;
    // Second price: B's 2.00 CPM + 1 micro, per impression = 2,000,001 / 1000 rounded down.
    expect(verified.claims).toMatchObject({ decisionId: ad.decisionId, country: 'US', pricingModel: 'cpm' });
    expect(verified.claims.priceMicros).toBe(2000);
    const click = signer.verify('click', token(ad.clickUrl), Date.now());
    expect(click.kind === 'valid' && click.claims.url).toBe('https://alpha.example/fly');
    // One token per ad: the kind is in the path, each kind is deduplicated on its own (tracking tests).
    for (const url of [ad.tracking.impression, ad.tracking.viewable, ad.tracking.custom]) {
      expect(token(url)).toBe(token(ad.clickUrl));
    }
  });

  it('applies targeting from the IP: outside the US only B can serve', async () => {
    const res = await decide({ placements: [{ id: net.banner }], device: { ip: '81.2.69.142' } }); // GB
    expect(res.json().decisions[net.banner][0].lineItemId).toBe(net.liB);
  });

  it('accepts the tag’s text/plain JSON', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ placements: [{ id: net.banner }] }),
    });
    expect(res.statusCode).toBe(200);
  });

  it('answers unknown and inactive placements with an empty decision and a reason', async () => {
    const res = await decide({ placements: [{ id: 'plc_nope' }, { id: net.inactive }] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      decisions: { plc_nope: [], [net.inactive]: [] },
      noFill: { plc_nope: 'unknown_placement', [net.inactive]: 'inactive_placement' },
    });
  });

  it('refuses malformed and oversized requests with a 400/413 and a reason', async () => {
    const bad = [
      { body: 'not json', type: 'text/plain', status: 400 },
      { body: '{"placements":[]}', type: 'application/json', status: 400 },
      { body: '{"placements":[{"id":"x"}],"surprise":1}', type: 'application/json', status: 400 },
      {
        body: JSON.stringify({ placements: [{ id: 'x' }], keywords: ['a'.repeat(70_000)] }),
        type: 'application/json',
        status: 413,
      },
    ];
    for (const b of bad) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        headers: { 'content-type': b.type },
        payload: b.body,
      });
      expect(res.statusCode, b.body.slice(0, 60)).toBe(b.status);
      expect(res.json()).toHaveProperty('code');
    }
    const explain = await decide({ placements: [{ id: net.banner }], explain: true });
    expect(explain.statusCode).toBe(400);
  });

  it('sends CORS headers to any page', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/decisions',
      headers: { origin: 'https://news.example', 'access-control-request-method': 'POST' },
    });
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  it('explains to admins everything, to an advertiser only its own line items, to publishers nothing', async () => {
    const body = { placements: [{ id: net.banner }], device: { ip: '81.2.69.142' } };
    const admin = await t.app.inject({
      method: 'POST',
      url: '/api/v1/decisions/explain',
      headers: t.admin.headers,
      payload: body,
    });
    expect(admin.statusCode).toBe(200);
    const entries = admin.json().explain as { lineItemId: string; reason: string }[];
    expect(entries).toContainEqual(expect.objectContaining({ lineItemId: net.liA, reason: 'targeting' }));
    expect(entries).toContainEqual(expect.objectContaining({ lineItemId: net.liB, reason: 'won' }));
    // Dry run: nothing signed.
    expect(admin.json().decisions[net.banner][0].tracking.impression).toMatch(/\/preview$/);

    const adv = await t.app.inject({
      method: 'POST',
      url: '/api/v1/decisions/explain',
      headers: advertiserA.headers,
      payload: body,
    });
    expect(adv.statusCode).toBe(200);
    const advEntries = adv.json().explain as { lineItemId: string }[];
    expect(advEntries.map((e) => e.lineItemId)).toEqual(expect.arrayContaining([net.liA]));
    expect(advEntries.some((e) => e.lineItemId === net.liB)).toBe(false);
    expect(JSON.stringify(adv.json())).not.toContain(net.liB);
    expect(JSON.stringify(adv.json())).not.toContain(net.advB);

    const pub = await t.app.inject({
      method: 'POST',
      url: '/api/v1/decisions/explain',
      headers: publisherUser.headers,
      payload: body,
    });
    expect(pub.statusCode).toBe(403);
    const anon = await t.app.inject({ method: 'POST', url: '/api/v1/decisions/explain', payload: body });
    expect(anon.statusCode).toBe(401);
  });

  it('makes a change live without a restart', async () => {
    const { store } = t;
    const li = (await store.repos.lineItem.get(net.liB, { kind: 'all' }))!;
    const paused = await store.repos.lineItem.update(
      li.id,
      li.version,
      { ...li, status: 'paused' },
      { kind: 'all' },
      actor,
    );
    expect(paused.kind).toBe('ok');
    const { seq } = await store.feed.loadSnapshot();
    expect(await servingOf(t.app).state.waitFor(seq)).toBe(true);
    const res = await decide({ placements: [{ id: net.banner }], device: { ip: '81.2.69.142' } });
    expect(res.json()).toMatchObject({ decisions: { [net.banner]: [] } });
    expect(['no_match', 'no_eligible']).toContain(res.json().noFill[net.banner]);
    const back = (await store.repos.lineItem.get(net.liB, { kind: 'all' }))!;
    await store.repos.lineItem.update(back.id, back.version, { ...back, status: 'active' }, { kind: 'all' }, actor);
    expect(await servingOf(t.app).state.waitFor((await store.feed.loadSnapshot()).seq)).toBe(true);
  });

  it('serves VAST 4.2 for a video placement, valid against the IAB schema', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/vast?placement=${net.video}&user=u9&ip=8.8.8.8` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/xml');
    const xml = res.body;
    expect(xml).toContain('<MediaFile');
    expect(xml).toContain('/t/impression/');
    if (existsSync(XSD)) {
      const dir = mkdtempSync(join(tmpdir(), 'vast-'));
      writeFileSync(join(dir, 'a.xml'), xml);
      expect(() =>
        execFileSync('xmllint', ['--noout', '--schema', XSD, join(dir, 'a.xml')], { stdio: 'pipe' }),
      ).not.toThrow();
    }
    const none = await t.app.inject({ method: 'GET', url: `/v1/vast?placement=${net.banner}` });
    expect(none.body).not.toContain('<Ad ');
    expect((await t.app.inject({ method: 'GET', url: '/v1/vast' })).statusCode).toBe(400);
  });

  it('serves the tag and the demo page', async () => {
    const tag = await t.app.inject({ method: 'GET', url: '/marquee.js' });
    expect(tag.statusCode).toBe(200);
    expect(tag.headers['content-type']).toContain('javascript');
    const demo = await t.app.inject({ method: 'GET', url: '/demo' });
    expect(demo.statusCode).toBe(200);
    expect(demo.body).toContain(`data-marquee-placement="${net.banner}"`);
    expect(demo.body).not.toContain(`data-marquee-placement="${net.inactive}"`);
  });

  it('never answers a fuzzed decision request with a 5xx', async () => {
    const placementIds = [net.banner, net.video, net.inactive, 'plc_x', '', 'x'.repeat(60)];
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null));
    const body = fc.record(
      {
        placements: fc.oneof(
          fc.array(
            fc.record({
              id: fc.constantFrom(...placementIds),
              count: fc.option(fc.integer({ min: -2, max: 12 }), { nil: undefined }),
            }),
            { maxLength: 25 },
          ),
          value,
        ),
        user: fc.option(
          fc.record({
            key: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
            segments: fc.option(fc.array(fc.string(), { maxLength: 5 }), { nil: undefined }),
          }),
          { nil: undefined },
        ),
        keywords: fc.option(fc.array(fc.string({ maxLength: 30 }), { maxLength: 10 }), { nil: undefined }),
        kv: fc.option(
          fc.dictionary(
            fc.string({ maxLength: 10 }),
            fc.oneof(fc.string({ maxLength: 10 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), value),
          ),
          { nil: undefined },
        ),
        device: fc.option(
          fc.record({
            ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 50 })),
            ua: fc.string({ maxLength: 300 }),
          }),
          { nil: undefined },
        ),
        site: fc.option(
          fc.record({ page: fc.webUrl(), categories: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }) }),
          { nil: undefined },
        ),
        extra: fc.option(value, { nil: undefined }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (b, asText) => {
        const res = await t.app.inject({
          method: 'POST',
          url: '/v1/decisions',
          headers: { 'content-type': asText ? 'text/plain' : 'application/json' },
          payload: JSON.stringify(b),
        });
        expect(res.statusCode).toBeLessThan(500);
        if (res.statusCode >= 400) expect(res.json()).toHaveProperty('code');
      }),
      { numRuns: 10_000 },
    );
    const junk = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a).toString('latin1')),
    );
    await fc.assert(
      fc.asyncProperty(junk, async (payload) => {
        const res = await t.app.inject({
          method: 'POST',
          url: '/v1/decisions',
          headers: { 'content-type': 'text/plain' },
          payload,
        });
        expect(res.statusCode).toBeLessThan(500);
      }),
      { numRuns: 1_000 },
    );
  });
});
