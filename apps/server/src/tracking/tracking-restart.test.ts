/**
 * The dedup memory, attribution and spend survive a real restart of the app on the same data directory:
 * they are rebuilt from the event log (the source of truth) before the tracking routes answer.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, type Store } from '@marquee/store';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, servingOf, trackingOf } from '../app.ts';
import type { App } from '../deps.ts';
import { createLifecycle } from '../lifecycle/lifecycle.ts';
import { TEST_DATABASE_URL, testBackend, testConfig } from '../testing/test-app.ts';
import { decide, pathOf, readAll, seedWorld, testClock, type World } from './tracking-world.ts';

describe(`tracking memory across a restart (${testBackend()})`, () => {
  const clock = testClock();
  const schema = `t_trk_${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'marquee-trk-restart-'));
  let store: Store;
  let w: World;
  const apps: App[] = [];

  const start = async () => {
    const app = await createApp(
      { config: testConfig({ dataDir }), store, logger: pino({ level: 'silent' }) },
      { now: clock.now, lifecycle: createLifecycle() },
    );
    await app.ready();
    const { seq } = await store.feed.loadSnapshot();
    await servingOf(app).state.waitFor(seq);
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    store =
      testBackend() === 'postgres'
        ? await createStore({ databaseUrl: TEST_DATABASE_URL, schema })
        : await createStore({});
    w = await seedWorld(store);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (testBackend() === 'postgres') {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
  });

  it('a hit counted before the restart is a duplicate after it; spend and attribution come back', async () => {
    const first = await start();
    const { ad } = await decide(first, w.placements.cpa, 'restart-user');
    const cpm = (await decide(first, w.placements.cpm, 'restart-user')).ad!;
    expect((await first.inject({ method: 'GET', url: pathOf(ad!.tracking.impression) })).statusCode).toBe(200);
    expect((await first.inject({ method: 'GET', url: pathOf(ad!.clickUrl!) })).statusCode).toBe(302);
    expect((await first.inject({ method: 'GET', url: pathOf(cpm.tracking.impression) })).statusCode).toBe(200);
    expect(
      (await first.inject({ method: 'GET', url: `/t/conversion?advertiser=${w.advA}&order=R-1&user=restart-user` }))
        .statusCode,
    ).toBe(200);
    const spendBefore = servingOf(first).spend.lifetime(w.lineItems.cpm);
    expect(spendBefore).toEqual({ spendMicros: 4_000, impressions: 1 });
    await first.close();
    apps.splice(apps.indexOf(first), 1);

    clock.advance(60_000);
    const second = await start();
    const log = trackingOf(second).log;
    // The same URLs again: duplicates, not counted twice.
    await second.inject({ method: 'GET', url: pathOf(ad!.tracking.impression) });
    await second.inject({ method: 'GET', url: pathOf(ad!.clickUrl!) });
    await second.inject({ method: 'GET', url: pathOf(cpm.tracking.impression) });
    await second.inject({ method: 'GET', url: `/t/conversion?advertiser=${w.advA}&order=R-1&user=restart-user` });
    const tail = (await readAll(log)).filter((e) => e.kind !== 'request').slice(-4);
    expect(tail.map((e) => `${e.kind}:${e.reason || e.verdict}`)).toEqual([
      'impression:duplicate',
      'click:duplicate',
      'impression:duplicate',
      'conversion:duplicate',
    ]);
    expect(servingOf(second).spend.lifetime(w.lineItems.cpm)).toEqual(spendBefore);
    // The attribution index came back: a new order of the same user is attributed to the click.
    await second.inject({ method: 'GET', url: `/t/conversion?advertiser=${w.advA}&order=R-2&user=restart-user` });
    expect((await readAll(log)).at(-1)).toMatchObject({
      attribution: 'click',
      lineItemId: w.lineItems.cpa,
      verdict: 'valid',
    });
    // A fresh decision still counts.
    const fresh = (await decide(second, w.placements.cpm, 'restart-user')).ad!;
    await second.inject({ method: 'GET', url: pathOf(fresh.tracking.impression) });
    expect((await readAll(log)).at(-1)).toMatchObject({ kind: 'impression', verdict: 'valid' });
  });
});
