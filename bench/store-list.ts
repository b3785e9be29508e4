/**
 * Management store list benchmark: 100,000 line items in each backend (PGlite in memory, PostgreSQL),
 * then keyset pages through `repos.lineItem.list` (limit 50 and 500; sorted by id and by name; with and
 * without an advertiserId filter), printing ms per page (median, p95). Baseline: the same page fetched
 * with raw SQL (`select data ... order by ... limit`) on the same connection, i.e. without the exact
 * `total` count, scope and archived filter that `list` adds.
 *
 *   node --import tsx bench/store-list.ts            # both backends
 *   BENCH_ROWS=20000 node --import tsx bench/store-list.ts
 *   BENCH_BACKENDS=pglite node --import tsx bench/store-list.ts
 */
import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { openStoreWithDatabase } from '../packages/store/src/create-store.ts';
import type { Database } from '../packages/store/src/database.ts';
import { fixtures } from '../packages/store/src/fixtures.ts';
import { ALL, type Store, type StoreOptions } from '../packages/store/src/index.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const ADVERTISERS = 100;
const PAGES = { 50: 40, 500: 10 } as const;
const databaseUrl = process.env.MARQUEE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const backends = (process.env.BENCH_BACKENDS ?? 'pglite,postgres').split(',');
const actor = { userId: null, label: 'bench' };
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];

interface Row {
  backend: string;
  scenario: string;
  listMedian: number;
  listP95: number;
  rawMedian: number;
  rawP95: number;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function load(store: Store): Promise<string[]> {
  const advertisers: { adv: string; cmp: string }[] = [];
  for (let i = 0; i < ADVERTISERS; i++) {
    const adv = await store.repos.advertiser.create(fixtures.advertiser({ name: `advertiser ${i}` }), actor);
    if (adv.kind !== 'ok') throw new Error('advertiser');
    const cmp = await store.repos.campaign.create(fixtures.campaign(adv.entity.id), actor);
    if (cmp.kind !== 'ok') throw new Error('campaign');
    advertisers.push({ adv: adv.entity.id, cmp: cmp.entity.id });
  }
  const chunk = 5000;
  for (let start = 0; start < ROWS; start += chunk) {
    const items = Array.from({ length: Math.min(chunk, ROWS - start) }, (_, j) => {
      const n = start + j;
      const { adv, cmp } = advertisers[n % ADVERTISERS]!;
      // Names with many ties: 10 words x 1000 numbers.
      return fixtures.lineItem(adv, cmp, { name: `${WORDS[n % 10]} ${Math.floor(n / 10) % 1000}` });
    });
    const result = await store.repos.lineItem.createMany(items, actor);
    if (result.kind !== 'ok') throw new Error(`load failed: ${result.kind}`);
  }
  return advertisers.map((a) => a.adv);
}

async function measure(backend: string, store: Store, db: Kysely<Database>, advertiserId: string): Promise<Row[]> {
  const rows: Row[] = [];
  for (const limit of [50, 500] as const) {
    for (const sort of ['id', 'name'] as const) {
      for (const filtered of [false, true]) {
        const filters = filtered ? { advertiserId } : undefined;
        const listTimes: number[] = [];
        const rawTimes: number[] = [];
        let cursor: string | undefined;
        let rawAfter: { name: string; id: string } | undefined;
        for (let page = 0; page < PAGES[limit]; page++) {
          let t = performance.now();
          const result = await store.repos.lineItem.list(
            { sort, limit, ...(filters ? { filters } : {}), ...(cursor ? { cursor } : {}) },
            ALL,
          );
          listTimes.push(performance.now() - t);
          cursor = result.nextCursor ?? undefined;

          t = performance.now();
          let q = db.selectFrom('line_items').select(['id', 'name', 'data']);
          if (filtered) q = q.where('advertiser_id', '=', advertiserId);
          if (rawAfter) {
            q =
              sort === 'id'
                ? q.where('id', '>', rawAfter.id)
                : q.where(sql<boolean>`(name, id) > (${rawAfter.name}, ${rawAfter.id})`);
          }
          if (sort === 'name') q = q.orderBy('name');
          const raw = await q.orderBy('id').limit(limit).execute();
          rawTimes.push(performance.now() - t);
          const last = raw.at(-1);
          rawAfter = last ? { name: last.name, id: last.id } : undefined;
          if (raw.length !== result.items.length || last?.id !== result.items.at(-1)?.id) {
            throw new Error(`raw page and list page differ (${sort}, ${limit}, page ${page})`);
          }
          if (!cursor) break;
        }
        rows.push({
          backend,
          scenario: `limit ${String(limit).padStart(3)} sort ${sort.padEnd(4)} ${filtered ? 'advertiserId' : 'no filter   '}`,
          listMedian: quantile(listTimes, 0.5),
          listP95: quantile(listTimes, 0.95),
          rawMedian: quantile(rawTimes, 0.5),
          rawP95: quantile(rawTimes, 0.95),
        });
      }
    }
  }
  return rows;
}

async function run(backend: string): Promise<Row[]> {
  const schema = `bench_store_${randomBytes(3).toString('hex')}`;
  const options: StoreOptions = backend === 'postgres' ? { databaseUrl, schema } : {};
  const { store, db } = await openStoreWithDatabase(options);
  try {
    const t = performance.now();
    const advertisers = await load(store);
    const loadMs = performance.now() - t;
    console.log(`${backend}: loaded ${ROWS} line items in ${(loadMs / 1000).toFixed(1)} s`);
    // Steady state: PostgreSQL's autovacuum would have run (visibility map set, so the exact `total`
    // count can use an index-only scan); PGlite has no autovacuum, so we vacuum it the same way.
    if (process.env.BENCH_VACUUM !== '0') await sql`vacuum analyze`.execute(db);
    // Warm-up pass, then the measured pass.
    await measure(backend, store, db, advertisers[7]!);
    return await measure(backend, store, db, advertisers[7]!);
  } finally {
    await store.close();
    if (backend === 'postgres') {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
  }
}

const all: Row[] = [];
for (const backend of backends) all.push(...(await run(backend.trim())));

const f = (n: number) => n.toFixed(2).padStart(8);
console.log(`\nlist() vs raw keyset SQL, ${ROWS} line items, ms per page`);
console.log(
  `${'backend'.padEnd(9)} ${'scenario'.padEnd(36)} ${'list p50'.padStart(8)} ${'list p95'.padStart(8)} ${'raw p50'.padStart(8)} ${'raw p95'.padStart(8)}`,
);
for (const r of all) {
  console.log(
    `${r.backend.padEnd(9)} ${r.scenario.padEnd(36)} ${f(r.listMedian)} ${f(r.listP95)} ${f(r.rawMedian)} ${f(r.rawP95)}`,
  );
}
