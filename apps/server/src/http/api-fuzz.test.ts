/**
 * Fuzzing the whole API surface: at least 10,000 generated requests over every registered /api/v1
 * route (plus the public asset files), with wrong methods, bad ids, malformed JSON, wrong types,
 * unknown fields, deep nesting, huge strings, odd headers and missing, forged or read-only
 * credentials, and bodies built from valid samples with fields mutated so the requests also reach
 * the business rules and the store. Every answer must be below 500, and every 4xx must carry the
 * catalogue's `{ code, message, details }`. Seeded: a failure replays with MARQUEE_FUZZ_SEED.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes } from '../app.ts';
import { encodePng } from '../assets/encode-png.ts';
import { createTestApp, type TestApp } from '../testing/test-app.ts';

const RUNS = Number(process.env['MARQUEE_FUZZ_RUNS'] ?? 10_000);
const SEED = Number(process.env['MARQUEE_FUZZ_SEED'] ?? 20_250_615);

type Json = unknown;
type Method = 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE' | 'OPTIONS';

describe('API fuzz (all routes)', () => {
  let t: TestApp;
  let ids: Record<string, string>;
  let identities: Record<string, Record<string, string>>;
  let routes: { method: string; url: string }[];
  let samples: Record<string, Record<string, Json>>;

  beforeAll(async () => {
    t = await createTestApp({ backend: 'pglite', config: { rateLimitPerMinute: 10_000_000 } });
    const h = t.admin.headers;
    const post = async (url: string, payload: Json) => {
      const res = await t.app.inject({ method: 'POST', url: `/api/v1${url}`, headers: h, payload: payload as object });
      if (res.statusCode !== 201) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
      return res.json().id as string;
    };
    const advertiser = await post('/advertisers', { name: 'Fuzz advertiser' });
    const campaign = await post('/campaigns', { advertiserId: advertiser, name: 'Fuzz campaign' });
    const creative = await post('/creatives', {
      advertiserId: advertiser,
      name: 'Fuzz creative',
      kind: 'html',
      width: 300,
      height: 250,
      html: '<b>x</b>',
    });
    const lineItem = await post('/line-items', { campaignId: campaign, name: 'Fuzz line item', rateMicros: 1 });
    const publisher = await post('/publishers', { name: 'Fuzz publisher' });
    const site = await post('/sites', { publisherId: publisher, name: 'Fuzz site' });
    const placement = await post('/placements', { siteId: site, name: 'Fuzz placement', sizes: [{ w: 300, h: 250 }] });
    const audience = await post('/audiences', { advertiserId: advertiser, name: 'Fuzz audience', key: 'fuzz' });
    ids = { advertiser, campaign, creative, lineItem, publisher, site, placement, audience };

    const trafficker = await t.createUser({ role: 'advertiser', advertiserIds: [advertiser] });
    const readonly = await t.createUser({ role: 'readonly' });
    const sessionUser = await t.createUser({ role: 'publisher', publisherIds: [publisher] });
    identities = {
      admin: (await t.apiKey(h, 'write')).headers,
      adminRead: (await t.apiKey(h, 'read')).headers,
      advertiser: (await t.apiKey(trafficker.headers, 'write')).headers,
      readonly: (await t.apiKey(readonly.headers, 'read')).headers,
      // A session (cookie + CSRF): the fuzzer may sign it out or change its password; that is fine.
      session: sessionUser.headers,
      sessionNoCsrf: { cookie: sessionUser.headers.cookie! },
      none: {},
      forgedKey: { authorization: 'Bearer mq_forged0000000000000000000000000000' },
      badScheme: { authorization: 'Basic YWRtaW46YWRtaW4=' },
      forgedCookie: { cookie: 'mq_session=forged.session.value', 'x-csrf-token': 'x' },
    };
    routes = registeredRoutes(t.app)
      .filter((r) => r.url.startsWith('/api/v1/') || r.url.startsWith('/assets/'))
      .map((r) => ({ method: r.method, url: r.url }));

    const now = '2030-01-01T00:00:00Z';
    samples = {
      advertisers: { name: 'Sample', domain: 'a.example', currency: 'EUR', categories: ['IAB1'] },
      campaigns: { advertiserId: advertiser, name: 'Sample', startAt: now, lifetimeBudgetMicros: 1_000_000 },
      'line-items': {
        campaignId: campaign,
        name: 'Sample',
        rateMicros: 2_000_000,
        startAt: now,
        endAt: '2030-02-01T00:00:00Z',
        targeting: {
          and: [{ dimension: 'country', values: ['US'] }, { not: { dimension: 'device', values: ['ctv'] } }],
        },
        frequencyCaps: [{ count: 3, per: 'day' }],
        dayParting: [{ weekdays: [1, 2], startHour: 8, endHour: 18 }],
        creatives: [{ creativeId: creative, weight: 2 }],
        dailyBudgetMicros: 100,
        lifetimeBudgetMicros: 1000,
      },
      creatives: {
        advertiserId: advertiser,
        name: 'Sample',
        kind: 'image',
        width: 300,
        height: 250,
        imageUrl: 'https://cdn.example/a.png',
        clickUrl: 'https://a.example/',
      },
      publishers: { name: 'Sample', revenueShareBps: 6000 },
      sites: { publisherId: publisher, name: 'Sample', kind: 'app', bundle: 'com.example' },
      placements: {
        siteId: site,
        name: 'Sample',
        formats: ['banner', 'video'],
        sizes: [{ w: 728, h: 90 }],
        video: { minDurationSec: 5, maxDurationSec: 30, mimeTypes: ['video/mp4'] },
      },
      audiences: { advertiserId: advertiser, name: 'Sample', key: 'sample-key', ttlDays: 7 },
      users: { email: 'fuzz@example.com', name: 'Fuzz', role: 'advertiser', advertiserIds: [advertiser] },
      'api-keys': { name: 'fuzz key', scope: 'read' },
      network: { name: 'Fuzz network', currency: 'USD', timeZone: 'Europe/Paris' },
      'bulk-status': { ids: [lineItem, creative], status: 'paused' },
      auth: { email: 'nobody@example.com', password: 'wrong-password' },
    };
  });
  afterAll(() => t?.close());

  it(`answers ${RUNS} generated requests without a 5xx, every 4xx in the error shape`, async () => {
    const badIds = [
      'x',
      'li_',
      '..',
      '%2e%2e%2f%2e%2e',
      '%00',
      'li_%00',
      'LI_ABC',
      'adv_01h',
      'ast_0123',
      '%F0%9F%92%A9',
      "'; drop table advertisers; --",
      '1e309',
      '-1',
      'null',
    ];
    const segment = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...Object.values(ids)) },
      { weight: 3, arbitrary: fc.constantFrom(...badIds) },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map(encodeURIComponent) },
      { weight: 1, arbitrary: fc.constant(`${'0'.repeat(64)}.png`) },
    );
    const route = fc.constantFrom(...routes);
    const method = fc.oneof(
      { weight: 8, arbitrary: fc.constant(null) }, // the route's own method
      { weight: 2, arbitrary: fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'HEAD', 'OPTIONS') },
    );
    const queryValue = fc.oneof(
      fc.constantFrom('1', '0', '-5', '501', '50', 'abc', '', 'name', '-name', 'color', 'true', 'archived', 'house'),
      fc.constantFrom(...Object.values(ids)),
      fc.string({ maxLength: 30 }),
      fc.constant('x'.repeat(5000)),
    );
    const queryKey = fc.constantFrom(
      'limit',
      'cursor',
      'sort',
      'search',
      'status',
      'advertiserId',
      'campaignId',
      'publisherId',
      'siteId',
      'priority',
      'kind',
      'includeArchived',
      'userId',
      'entityId',
      'includeRevoked',
      'colour',
      '__proto__',
    );
    const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 });

    const huge = fc.integer({ min: 10_000, max: 400_000 }).map((n) => 'x'.repeat(n));
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('drop' as const), field: fc.string({ maxLength: 12 }) }),
      fc.record({
        kind: fc.constant('set' as const),
        field: fc.string({ maxLength: 12 }),
        value: fc.jsonValue({ maxDepth: 3 }),
      }),
      fc.record({
        kind: fc.constant('type' as const),
        field: fc.string({ maxLength: 12 }),
        value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), huge, fc.constant(-1), fc.constant(1e308), fc.constant(2 ** 60)),
      }),
      fc.record({ kind: fc.constant('unknown' as const), field: fc.string({ minLength: 1, maxLength: 12 }) }),
      fc.constant({ kind: 'none' as const }),
    );
    type Body =
      | { kind: 'none' }
      | { kind: 'raw'; text: string }
      | { kind: 'json'; value: Json }
      | { kind: 'sample'; mutations: { kind: string; field?: string; value?: Json }[] }
      | { kind: 'deep'; depth: number }
      | { kind: 'multipart'; text: string; png: boolean };
    const body: fc.Arbitrary<Body> = fc.oneof(
      { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
      {
        weight: 2,
        arbitrary: fc
          .oneof(
            fc.string({ maxLength: 200 }),
            fc.constantFrom('{', '{"name":', '[1,2', '{"a":1}}', 'null', '"x"', '1', '{"__proto__":{"x":1}}', '\u0000'),
            fc.constant('['.repeat(20_000)),
          )
          .map((text) => ({ kind: 'raw' as const, text })),
      },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => ({ kind: 'json' as const, value })) },
      {
        weight: 6,
        arbitrary: fc.array(mutation, { maxLength: 3 }).map((mutations) => ({ kind: 'sample' as const, mutations })),
      },
      { weight: 1, arbitrary: fc.integer({ min: 5, max: 5000 }).map((depth) => ({ kind: 'deep' as const, depth })) },
      {
        weight: 1,
        arbitrary: fc
          .record({ text: fc.string({ maxLength: 100 }), png: fc.boolean() })
          .map((r) => ({ kind: 'multipart' as const, ...r })),
      },
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=fuzz',
      'application/xml',
      null,
    );
    const extraHeaders = fc.record(
      {
        'if-match': fc.constantFrom('"1"', '"2"', 'W/"1"', '*', 'garbage', '"99999999999999999999"', ''),
        accept: fc.constantFrom('application/json', 'text/html', '*/*', 'image/png', 'garbage'),
        'x-request-id': fc.string({ maxLength: 80 }),
        'accept-encoding': fc.constantFrom('gzip', 'br', 'identity', 'x'),
      },
      { requiredKeys: [] },
    );
    const identity = fc.constantFrom(...Object.keys(identities), 'admin', 'admin', 'advertiser');
    const request = fc.record({
      route,
      method,
      segments: fc.array(segment, { minLength: 3, maxLength: 3 }),
      query,
      body,
      contentType,
      extraHeaders,
      identity,
    });

    const statuses = new Map<number, number>();
    let deepHits = 0;

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const m = (r.method ?? r.route.method) as Method;
        let i = 0;
        let url = r.route.url.replace(/:[A-Za-z]+|\*/g, () => r.segments[i++ % 3]!);
        if (r.query.length > 0) {
          url += `?${r.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
        }
        const headers: Record<string, string> = {
          ...identities[r.identity],
          ...(r.extraHeaders as Record<string, string>),
        };
        let payload: string | Buffer | undefined;
        const plural = r.route.url.split('/')[3] ?? '';
        switch (r.body.kind) {
          case 'none':
            break;
          case 'raw':
            payload = r.body.text;
            break;
          case 'json':
            payload = JSON.stringify(r.body.value) ?? 'null';
            break;
          case 'deep':
            // Built as text: JSON.stringify itself would run out of stack at these depths.
            payload = JSON.stringify(samples['line-items']).replace(
              /"targeting":\{.*?\]\}\}\]\},/,
              `"targeting":${'{"not":'.repeat(r.body.depth)}{"dimension":"country","values":["US"]}${'}'.repeat(r.body.depth)},`,
            );
            break;
          case 'sample': {
            const key = r.route.url.endsWith('bulk-status') ? 'bulk-status' : plural;
            const value: Record<string, Json> = { ...(samples[key] ?? samples.advertisers) };
            const fields = Object.keys(value);
            for (const mu of r.body.mutations) {
              const field = fields[Math.abs(hash(mu.field ?? '')) % fields.length] ?? 'name';
              if (mu.kind === 'drop') delete value[field];
              else if (mu.kind === 'set' || mu.kind === 'type') value[field] = mu.value;
              else if (mu.kind === 'unknown') value[mu.field!] = 1;
            }
            payload = JSON.stringify(value);
            break;
          }
          case 'multipart': {
            const b = 'fuzz';
            const file = r.body.png ? encodePng(4, 4, () => [1, 2, 3]) : Buffer.from(r.body.text);
            payload = Buffer.concat([
              Buffer.from(
                `--${b}\r\ncontent-disposition: form-data; name="advertiserId"\r\n\r\n${r.segments[0]}\r\n` +
                  `--${b}\r\ncontent-disposition: form-data; name="file"; filename="f"\r\n\r\n`,
              ),
              file,
              // Half of them truncated: no closing boundary.
              Buffer.from(r.body.text.length % 2 ? `\r\n--${b}--\r\n` : ''),
            ]);
            headers['content-type'] = `multipart/form-data; boundary=${b}`;
            break;
          }
        }
        if (payload !== undefined && r.body.kind !== 'multipart' && r.contentType) {
          headers['content-type'] = r.contentType;
        }
        if (r.body.kind === 'deep') deepHits++;

        const res = await t.app.inject({ method: m, url, headers, ...(payload !== undefined ? { payload } : {}) });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        const where = `${m} ${url.slice(0, 200)} (${r.identity}, ${r.body.kind}) -> ${res.statusCode} ${res.body.slice(0, 300)}`;
        if (res.statusCode >= 500) throw new Error(`5xx: ${where}`);
        if (res.statusCode >= 400 && m !== 'HEAD') {
          let parsed: { code?: unknown; message?: unknown; details?: unknown };
          try {
            parsed = res.json();
          } catch {
            throw new Error(`4xx without a JSON body: ${where}`);
          }
          if (typeof parsed.code !== 'string' || !parsed.code.startsWith('MQ_ERR_')) {
            throw new Error(`no code: ${where}`);
          }
          if (typeof parsed.message !== 'string') throw new Error(`no message: ${where}`);
          if (!Array.isArray(parsed.details)) throw new Error(`no details: ${where}`);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );

    // The run reached deep code, not only the validators: successes, rule violations and conflicts.
    const count = (s: number) => statuses.get(s) ?? 0;
    expect(count(200) + count(201), JSON.stringify([...statuses])).toBeGreaterThan(RUNS / 50);
    expect(count(422) + count(409) + count(428)).toBeGreaterThan(0);
    expect(deepHits).toBeGreaterThan(0);
  }, 300_000); // 10,000 requests: about 30 s on a quiet machine, much more on a busy one
});

describe('malformed URLs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ backend: 'pglite' });
  });
  afterAll(() => t?.close());

  // Found by the fuzzer: these are answered by Fastify's router before any hook or error handler runs,
  // in Fastify's own shape, unless the app routes them through its handler (Fastify `frameworkErrors`).
  it.each([
    ['an id longer than the router allows', `/api/v1/campaigns/cmp_${'z'.repeat(300)}`],
    ['invalid percent-encoding', '/api/v1/campaigns/%E0%A4%A'],
  ])('answers %s in the error shape', async (_what, url) => {
    const res = await t.app.inject({ method: 'GET', url, headers: t.admin.headers });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.json()).toEqual({
      code: expect.stringMatching(/^MQ_ERR_/),
      message: expect.any(String),
      details: expect.any(Array),
    });
  });
});

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}
