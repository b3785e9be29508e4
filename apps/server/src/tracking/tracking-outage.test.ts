/**
 * Outages of the backing services under a running app (issue 4, "Faults"): PostgreSQL away (the management
 * store and the rollup tables, real PostgreSQL in a schema of its own) and NATS away (the event log in NATS
 * mode). Each is reached through a local TCP relay that the test stops and starts: the shared servers are never
 * touched. While a service is away serving and tracking go on (every tracking request is acknowledged); when it
 * returns, the rollups drain and the reports are exact: nothing lost, nothing twice.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNatsEventLog } from '@marquee/events';
import { createStore, type Store } from '@marquee/store';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, rollupsOf, servingOf, trackingOf } from '../app.ts';
import type { App } from '../deps.ts';
import { createFirstAdmin } from '../first-start.ts';
import { createLifecycle } from '../lifecycle/lifecycle.ts';
import { createTestApp, sessionHeaders, TEST_DATABASE_URL, testConfig } from '../testing/test-app.ts';
import { natsSubjectOf } from './open-event-log.ts';
import type { SpoolingEventLog } from './spooling-event-log.ts';
import { startRelay } from './tcp-relay.ts';
import { decide, pathOf, type ServedAd, seedWorld, type World } from './tracking-world.ts';

const NATS = process.env['MARQUEE_TEST_NATS_URL'] ?? '127.0.0.1:4222';
const portOf = (url: string) => Number(new URL(url.includes('://') ? url : `nats://${url}`).port);
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** What the client got acknowledged, per line item: impressions, clicks, spend (the line items' rates). */
class Ledger {
  readonly impressions = new Map<string, number>();
  readonly clicks = new Map<string, number>();
  requests = 0;
  add(map: Map<string, number>, lineItemId: string) {
    map.set(lineItemId, (map.get(lineItemId) ?? 0) + 1);
  }
}

/** One page view: a decision for the CPM and CPC placements, both impressions, the CPC click, a replay. */
async function pageView(app: App, w: World, ledger: Ledger, user: string): Promise<void> {
  const ads: ServedAd[] = [];
  for (const placement of [w.placements.cpm, w.placements.cpc]) {
    const { ad } = await decide(app, placement, user);
    expect(ad, 'serving goes on from memory').toBeDefined();
    ledger.requests++;
    ads.push(ad!);
  }
  for (const ad of ads) {
    const res = await app.inject({ method: 'GET', url: pathOf(ad.tracking.impression) });
    expect(res.statusCode).toBe(200);
    ledger.add(ledger.impressions, ad.lineItemId);
  }
  const click = await app.inject({ method: 'GET', url: pathOf(ads[1]!.tracking.click!) });
  expect(click.statusCode).toBe(302);
  ledger.add(ledger.clicks, ads[1]!.lineItemId);
  // A replay: acknowledged, recorded as a duplicate, never counted.
  expect((await app.inject({ method: 'GET', url: pathOf(ads[0]!.tracking.impression) })).statusCode).toBe(200);
}

/** Polls the reporting API until the line items' rows match the ledger (deadline 60 s), then asserts them. */
async function expectReports(app: App, headers: Record<string, string>, w: World, ledger: Ledger): Promise<void> {
  const url =
    `/api/v1/reports?measures=requests,impressions,clicks,spend,invalid_events&dimensions=line_item` +
    `&from=${day(-1)}&to=${day(1)}&timeZone=UTC`;
  const want = (li: string, cpm: boolean) => ({
    line_item: li,
    requests: ledger.impressions.get(li) ?? 0, // one request per decision, one impression each
    impressions: ledger.impressions.get(li) ?? 0,
    clicks: ledger.clicks.get(li) ?? 0,
    // seedWorld: CPM 4 USD (4,000 micros per impression), CPC 0.5 USD per click.
    spend_micros: cpm ? 4_000 * (ledger.impressions.get(li) ?? 0) : 500_000 * (ledger.clicks.get(li) ?? 0),
  });
  const expected = [want(w.lineItems.cpm, true), want(w.lineItems.cpc, false)];
  let rows: Record<string, unknown>[] = [];
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await app.inject({ method: 'GET', url, headers });
    if (res.statusCode === 200) {
      rows = res.json().rows;
      const done = expected.every((e) => {
        const row = rows.find((r) => r['line_item'] === e.line_item);
        return row?.['impressions'] === e.impressions && row['clicks'] === e.clicks && row['requests'] === e.requests;
      });
      if (done || Date.now() > deadline) break;
    } else if (Date.now() > deadline) throw new Error(`reports: ${res.statusCode} ${res.body}`);
    await sleep(200);
  }
  for (const e of expected) expect(rows.find((r) => r['line_item'] === e.line_item)).toMatchObject(e);
}

describe('PostgreSQL away', () => {
  it('serving and tracking go on; the rollups wait, then drain when it returns: reports exact', {
    timeout: 120_000,
  }, async () => {
    const relay = await startRelay(Number(new URL(TEST_DATABASE_URL).port || 5432));
    cleanups.push(() => relay.stop());
    const schema = `t_outage_${randomBytes(4).toString('hex')}`;
    const relayed = new URL(TEST_DATABASE_URL);
    relayed.host = `127.0.0.1:${relay.port}`;
    const store: Store = await createStore({ databaseUrl: relayed.toString(), schema });
    const dataDir = mkdtempSync(join(tmpdir(), 'marquee-outage-pg-'));
    cleanups.push(async () => {
      rmSync(dataDir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`drop schema if exists "${schema}" cascade`);
      await c.end();
    });
    const config = testConfig({ dataDir });
    const app = await createApp(
      { config, store, logger: pino({ level: process.env['MARQUEE_TEST_LOG_LEVEL'] ?? 'silent' }) },
      { lifecycle: createLifecycle() },
    );
    cleanups.push(async () => {
      await app.close();
      await store.close();
    });
    await app.ready();
    const w = await seedWorld(store);
    expect(await servingOf(app).state.waitFor((await store.feed.loadSnapshot()).seq)).toBe(true);
    await createFirstAdmin(store, config.adminEmail, 'outage-admin-password');
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: config.adminEmail, password: 'outage-admin-password' },
    });
    const headers = sessionHeaders(login.headers['set-cookie'], login.json().csrfToken);
    const ledger = new Ledger();

    for (let i = 0; i < 5; i++) await pageView(app, w, ledger, `before-${i}`);
    await expectReports(app, headers, w, ledger);

    await relay.stop();
    const rollups = rollupsOf(app)!;
    const before = rollups.getStats();
    // Serving reads its in-memory snapshot and tracking writes the local log: neither needs the database.
    for (let i = 0; i < 20; i++) await pageView(app, w, ledger, `during-${i}`);
    await sleep(1_500); // the consumer tries, fails and backs off; the events wait in the log
    expect(rollups.getStats().events).toBe(before.events);
    expect(rollups.getStats().failures).toBeGreaterThan(before.failures);
    // The reporting API needs the database: a temporary 503 in our format with Retry-After, not a 500.
    for (const url of ['/api/v1/reports', '/api/v1/reports?format=csv', '/api/v1/reports/delivery']) {
      const away = await app.inject({ method: 'GET', url, headers });
      expect(away.statusCode, url).toBe(503);
      expect(away.json(), url).toMatchObject({ code: 'MQ_ERR_UNAVAILABLE' });
      expect(away.headers['retry-after'], url).toBe('5');
    }

    await relay.start();
    await expectReports(app, headers, w, ledger);
    for (let i = 0; i < 3; i++) await pageView(app, w, ledger, `after-${i}`);
    await expectReports(app, headers, w, ledger);
  });
});

describe('NATS away', () => {
  it('tracking acknowledges through the local spool; it drains when NATS returns and the reports are exact', {
    timeout: 120_000,
  }, async () => {
    const stream = `MQ_TRK_OUTAGE_${randomBytes(4).toString('hex')}`;
    cleanups.push(async () => {
      const log = await createNatsEventLog({ servers: NATS, stream, subject: natsSubjectOf(stream) });
      await log.destroy();
      await log.close();
    });
    const relay = await startRelay(portOf(NATS));
    cleanups.push(() => relay.stop());
    const t = await createTestApp({
      config: { eventLog: 'nats', natsUrl: `127.0.0.1:${relay.port}`, natsStream: stream },
    });
    cleanups.push(() => t.close());
    const w = await seedWorld(t.store);
    expect(await servingOf(t.app).state.waitFor((await t.store.feed.loadSnapshot()).seq)).toBe(true);
    const log = trackingOf(t.app).log as SpoolingEventLog;
    const ledger = new Ledger();

    for (let i = 0; i < 5; i++) await pageView(t.app, w, ledger, `before-${i}`);
    await expectReports(t.app, t.admin.headers, w, ledger);

    await relay.stop();
    for (let i = 0; i < 20; i++) await pageView(t.app, w, ledger, `during-${i}`);
    expect(log.stats.spooling).toBe(true);
    expect(log.stats.spooled).toBeGreaterThan(0);

    await relay.start();
    expect(await log.waitDrained(30_000)).toBe(true);
    await expectReports(t.app, t.admin.headers, w, ledger);
    for (let i = 0; i < 3; i++) await pageView(t.app, w, ledger, `after-${i}`);
    await expectReports(t.app, t.admin.headers, w, ledger);
  });
});
