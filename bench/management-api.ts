/**
 * Management API list benchmark: 100,000 line items in the embedded store (PGlite in memory, loaded
 * with createMany), then keyset pages through `GET /api/v1/line-items` via app.inject (limit 50 and
 * 500; sorted by id and by name; with and without an advertiserId filter), printing the server time
 * per page (median, p95). Baseline beside it: the store's `list` alone for the same pages, so the
 * HTTP overhead (auth lookup, query validation, JSON serialisation against the response schema) is visible.
 *
 *   node --import tsx bench/management-api.ts
 *   BENCH_ROWS=20000 node --import tsx bench/management-api.ts
 */
import pino from 'pino';
import { createApp } from '../apps/server/src/app.ts';
import { createFirstAdmin } from '../apps/server/src/first-start.ts';
import { testConfig } from '../apps/server/src/testing/test-app.ts';
import { fixtures } from '../packages/store/src/fixtures.ts';
import { ALL, createStore, type ListQuery, type Store } from '../packages/store/src/index.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const ADVERTISERS = 100;
const PAGES = { 50: 40, 500: 10 } as const;
const actor = { userId: null, label: 'bench' };
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];

const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;

async function load(store: Store): Promise<string> {
  const advertisers: { adv: string; cmp: string }[] = [];
  for (let i = 0; i < ADVERTISERS; i++) {
    const adv = await store.repos.advertiser.create(fixtures.advertiser({ name: `advertiser ${i}` }), actor);
    if (adv.kind !== 'ok') throw new Error('advertiser');
    const cmp = await store.repos.campaign.create(fixtures.campaign(adv.entity.id), actor);
    if (cmp.kind !== 'ok') throw new Error('campaign');
    advertisers.push({ adv: adv.entity.id, cmp: cmp.entity.id });
  }
  for (let start = 0; start < ROWS; start += 5000) {
    const items = Array.from({ length: Math.min(5000, ROWS - start) }, (_, j) => {
      const n = start + j;
      const { adv, cmp } = advertisers[n % ADVERTISERS]!;
      return fixtures.lineItem(adv, cmp, { name: `${WORDS[n % 10]} ${Math.floor(n / 10) % 1000}` });
    });
    const result = await store.repos.lineItem.createMany(items, actor);
    if (result.kind !== 'ok') throw new Error(`load failed: ${result.kind}`);
  }
  return advertisers[0]!.adv;
}

const store = await createStore({});
const t0 = performance.now();
const advertiserId = await load(store);
console.log(`loaded ${ROWS} line items in ${((performance.now() - t0) / 1000).toFixed(1)} s (PGlite in memory)`);

const config = testConfig({ rateLimitPerMinute: 100_000_000 });
const app = await createApp({ config, store, logger: pino({ level: 'silent' }) });
await app.ready();
const password = 'bench-password-1';
await createFirstAdmin(store, config.adminEmail, password);
const login = await app.inject({
  method: 'POST',
  url: '/api/v1/auth/login',
  payload: { email: config.adminEmail, password },
});
const headers = { cookie: String(login.headers['set-cookie']).split(';')[0]!, 'x-csrf-token': login.json().csrfToken };

const results: string[][] = [];
for (const limit of [50, 500] as const) {
  for (const sort of ['id', 'name'] as const) {
    for (const filtered of [false, true]) {
      const http: number[] = [];
      const direct: number[] = [];
      let cursor: string | null = null;
      let directCursor: string | null = null;
      for (let page = 0; page < PAGES[limit]; page++) {
        const qs = new URLSearchParams({ limit: String(limit), sort });
        if (filtered) qs.set('advertiserId', advertiserId);
        if (cursor) qs.set('cursor', cursor);
        let start = performance.now();
        const res = await app.inject({ method: 'GET', url: `/api/v1/line-items?${qs}`, headers });
        http.push(performance.now() - start);
        if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body.slice(0, 200)}`);
        cursor = (res.json() as { nextCursor: string | null }).nextCursor;

        const query: ListQuery = {
          limit,
          sort,
          ...(filtered ? { filters: { advertiserId: [advertiserId] } } : {}),
          ...(directCursor ? { cursor: directCursor } : {}),
        };
        start = performance.now();
        const p = await store.repos.lineItem.list(query, ALL);
        direct.push(performance.now() - start);
        directCursor = p.nextCursor;
        if (!cursor || !directCursor) break;
      }
      const f = (v: number) => v.toFixed(1).padStart(7);
      results.push([
        `limit=${String(limit).padEnd(3)} sort=${sort.padEnd(4)} ${filtered ? 'advertiserId' : 'no filter   '}`,
        f(quantile(http, 0.5)),
        f(quantile(http, 0.95)),
        f(quantile(direct, 0.5)),
        f(quantile(direct, 0.95)),
        f(quantile(http, 0.5) - quantile(direct, 0.5)),
      ]);
    }
  }
}
console.log(`\nGET /api/v1/line-items (app.inject) vs store list() alone, ${ROWS} line items, ms per page`);
console.log('scenario                                   http p50  http p95  list p50  list p95  overhead p50');
for (const r of results) console.log(`${r[0]!.padEnd(42)} ${r.slice(1).join('   ')}`);
await app.close();
await store.close();
