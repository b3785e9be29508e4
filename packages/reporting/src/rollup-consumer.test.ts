import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createFileEventLog,
  createNatsEventLog,
  type EventLog,
  encodeEvents,
  START_POSITION,
  type TrackingEvent,
} from '@marquee/events';
import { createStore, type RollupMeasures, type Store } from '@marquee/store';
import { fixtures } from '@marquee/store/fixtures';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_MS } from './aggregate-events.ts';
import { type RollupCommitInfo, RollupConsumer } from './rollup-consumer.ts';

const DATABASE_URL = process.env['MARQUEE_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = process.env['MARQUEE_TEST_NATS_URL'] ?? '127.0.0.1:4222';
const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);
const actor = { userId: null, label: 'rollup-test' };

/** Events over a few hours, publishers and verdicts; deterministic in n. */
function makeEvents(count: number, prefix: string, publishers: readonly string[]): TrackingEvent[] {
  const kinds = ['impression', 'impression', 'impression', 'viewable', 'click', 'request', 'conversion'] as const;
  return Array.from({ length: count }, (_, n) => {
    const kind = kinds[n % kinds.length]!;
    const invalid = n % 13 === 0;
    return {
      kind,
      eventId: `${prefix}-${n}`,
      decisionId: `dc-${n}`,
      lineItemId: kind === 'request' ? '' : `li_${n % 5}`,
      creativeId: kind === 'request' ? '' : `cr_${n % 3}`,
      advertiserId: kind === 'request' ? '' : `adv_${n % 2}`,
      campaignId: kind === 'request' ? '' : `cmp_${n % 4}`,
      publisherId: publishers[n % publishers.length]!,
      siteId: `site_${n % 3}`,
      placementId: `pl_${n % 6}`,
      tsMs: T0 + ((n * 7_919) % (5 * HOUR_MS)),
      priceMicros: kind === 'impression' || kind === 'click' ? 1_000 + ((n * 37) % 9_000) : 0,
      country: n % 4 === 0 ? 'DE' : 'FR',
      deviceType: n % 2 === 0 ? 'mobile' : 'desktop',
      userKey: `u${n % 50}`,
      verdict: invalid ? 'invalid' : 'valid',
      reason: invalid ? (n % 2 ? 'duplicate' : 'bad_signature') : '',
    };
  });
}

/** What the rollups must say, computed from the events by a plain loop. */
function expectedTotals(events: readonly TrackingEvent[], shares: Record<string, number>): RollupMeasures {
  const t = {
    requests: 0,
    impressions: 0,
    viewableImpressions: 0,
    clicks: 0,
    conversions: 0,
    customEvents: 0,
    events: 0,
    spendMicros: 0,
    revenueMicros: 0,
    invalidEvents: 0,
  };
  for (const e of events) {
    if (e.verdict === 'invalid') {
      t.invalidEvents++;
      continue;
    }
    t.events++;
    if (e.kind === 'request') t.requests++;
    if (e.kind === 'impression') t.impressions++;
    if (e.kind === 'viewable') t.viewableImpressions++;
    if (e.kind === 'click') t.clicks++;
    if (e.kind === 'conversion') t.conversions++;
    t.spendMicros += e.priceMicros;
    t.revenueMicros += Math.floor((e.priceMicros * (shares[e.publisherId] ?? 0)) / 10_000);
  }
  return t;
}

async function eventually(check: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const backends = ['pglite', 'postgres'] as const;

describe.each(backends)('rollup consumer on %s', (backend) => {
  const schema = `rollup_test_${process.pid}_${randomBytes(3).toString('hex')}`;
  let store: Store;
  let dir: string;
  let publishers: string[];
  let shares: Record<string, number>;
  let logCount = 0;

  beforeAll(async () => {
    store = backend === 'postgres' ? await createStore({ databaseUrl: DATABASE_URL, schema }) : await createStore({});
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'marquee-rollup-'));
    shares = {};
    publishers = [];
    for (const bps of [7_000, 3_333, 10_000]) {
      const r = await store.repos.publisher.create(fixtures.publisher({ revenueShareBps: bps }), actor);
      if (r.kind !== 'ok') throw new Error('publisher');
      publishers.push(r.entity.id);
      shares[r.entity.id] = bps;
    }
  });
  afterAll(async () => {
    await store?.close();
    await fsp.rm(dir, { recursive: true, force: true });
    if (backend === 'postgres') {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
  });

  /** A fresh log and a consumer name of its own, so tests share the store but not their rollups. */
  async function setup(batchSize = 100) {
    const n = ++logCount;
    const log = await createFileEventLog({ dir: path.join(dir, `log-${n}`) });
    const name = `test-${n}`;
    // Each test filters on its own advertiser/publisher-free dimension: the placement ids are per test.
    const consumer = (o: Partial<ConstructorParameters<typeof RollupConsumer>[0]> = {}) =>
      new RollupConsumer({ log, store, name, batchSize, pollMs: 20, ...o });
    const tagged = (events: TrackingEvent[]) => events.map((e) => ({ ...e, placementId: `${e.placementId}-t${n}` }));
    const totals = async () => {
      const placements = Array.from({ length: 6 }, (_, i) => `pl_${i}-t${n}`);
      const groups = await store.rollups.query({
        dimensions: [],
        timeZone: 'UTC',
        filters: { placement: placements },
        maxGroups: 10,
      });
      return groups[0]?.measures;
    };
    return { log, name, consumer, tagged, totals };
  }

  it('rolls up every event exactly once and resumes from the committed position', async () => {
    const { log, name, consumer, tagged, totals } = await setup(97);
    const first = tagged(makeEvents(1_000, 'a', publishers));
    await log.append(encodeEvents(first));
    const c1 = consumer();
    expect(await c1.drain()).toBe(1_000);
    expect(await totals()).toEqual(expectedTotals(first, shares));
    expect(await store.rollups.position(name)).toBe(await log.end());

    // A restarted consumer finds nothing new; appended events are rolled up once.
    const c2 = consumer();
    expect(await c2.drain()).toBe(0);
    const second = tagged(makeEvents(300, 'b', publishers));
    await log.append(encodeEvents(second));
    expect(await c2.drain()).toBe(300);
    expect(await c1.drain()).toBe(0); // its stale position is refused ('moved'), then reloaded
    expect(await totals()).toEqual(expectedTotals([...first, ...second], shares));
    await log.close();
  });

  it('counts nothing of a batch that crashed before its commit, and the restart resumes it', async () => {
    const { log, name, consumer, tagged, totals } = await setup(100);
    const events = tagged(makeEvents(1_000, 'c', publishers));
    await log.append(encodeEvents(events));
    let batches = 0;
    const crashing = consumer({
      beforeCommit: () => {
        if (++batches === 4) throw new Error('injected crash');
      },
    });
    await expect(crashing.drain()).rejects.toThrow('injected crash');
    expect(await totals()).toEqual(expectedTotals(events.slice(0, 300), shares));
    const resumed = consumer();
    expect(await resumed.drain()).toBe(700);
    expect(await totals()).toEqual(expectedTotals(events, shares));
    expect(await store.rollups.position(name)).toBe(await log.end());
    await log.close();
  });

  it('aggregates several reads into one transaction; a crash before it counts none of them', async () => {
    const { log, name, consumer, tagged, totals } = await setup(1_000);
    const events = tagged(makeEvents(1_500, 'k', publishers));
    await log.append(encodeEvents(events));
    const crashing = consumer({
      readSize: 97,
      beforeCommit: () => {
        throw new Error('injected crash');
      },
    });
    await expect(crashing.drain()).rejects.toThrow('injected crash');
    expect(await totals()).toBeUndefined();
    expect(await store.rollups.position(name)).toBeUndefined();
    const commits: RollupCommitInfo[] = [];
    const c = consumer({ readSize: 97, onCommit: (info) => commits.push(info) });
    expect(await c.drain()).toBe(1_500);
    // 1,000 records (11 reads) in the first transaction, the 500 left in the second.
    expect(commits.map((x) => x.records)).toEqual([1_000, 500]);
    expect(await totals()).toEqual(expectedTotals(events, shares));
    expect(await store.rollups.position(name)).toBe(await log.end());
    await log.close();
  });

  it('rolls back the aggregates and the position together when a statement inside the transaction fails', async () => {
    const { log, name, consumer, tagged, totals } = await setup(100);
    const events = tagged(makeEvents(200, 'd', publishers));
    await log.append(encodeEvents(events));
    await consumer().drain();
    const before = await totals();
    const position = await store.rollups.position(name);
    const key = {
      hourMs: T0,
      advertiserId: 'a',
      campaignId: 'c',
      lineItemId: 'l',
      creativeId: 'cr',
      publisherId: 'p',
      siteId: 's',
      placementId: `pl_0-t${logCount}`,
      country: 'FR',
      deviceType: 'mobile',
    };
    const row = { ...key, ...expectedTotals([], {}), impressions: 5, spendMicros: 5_000 };
    // The second upsert overflows int8, after the first one has run: the whole transaction must roll back.
    const bad = { rows: [row], invalid: [{ ...key, reason: 'x', events: 2 ** 64 }], records: 1 };
    await expect(store.rollups.commit(name, position!, 'zzz', bad)).rejects.toThrow();
    expect(await totals()).toEqual(before);
    expect(await store.rollups.position(name)).toBe(position);
    // A commit from a position that is not the stored one changes nothing either.
    expect(await store.rollups.commit(name, START_POSITION, 'zzz', { ...bad, invalid: [] })).toBe('moved');
    expect(await totals()).toEqual(before);
    await log.close();
  });

  it('never double counts with two instances of one consumer running at once', async () => {
    const { log, consumer, tagged, totals } = await setup(50);
    const events = tagged(makeEvents(2_000, 'e', publishers));
    await log.append(encodeEvents(events));
    const [a, b] = [consumer(), consumer()];
    const [na, nb] = await Promise.all([a.drain(), b.drain()]);
    expect(na + nb).toBeGreaterThanOrEqual(2_000);
    expect(await totals()).toEqual(expectedTotals(events, shares));
    await log.close();
  });

  it('follows the log: appended events reach the rollups within the poll interval, and the lag is reported', async () => {
    const { log, consumer, tagged, totals } = await setup(1_000);
    const commits: RollupCommitInfo[] = [];
    const c = consumer({ onCommit: (info) => commits.push(info) });
    c.start();
    try {
      const now = Date.now();
      const events = tagged(makeEvents(50, 'f', publishers)).map((e) => ({ ...e, tsMs: now }));
      await log.append(encodeEvents(events));
      await eventually(async () => expect(await totals()).toEqual(expectedTotals(events, shares)));
      const lags = commits.map((x) => x.committedAtMs - x.maxTsMs);
      expect(lags.length).toBeGreaterThan(0);
      expect(c.getStats().lastLagMs).toBe(lags.at(-1));
    } finally {
      await c.stop();
      await log.close();
    }
  });

  it('says whether a batch caught up with the log, and after one that did waits its poll interval before reading again', async () => {
    const { log, consumer, tagged } = await setup(100);
    await log.append(encodeEvents(tagged(makeEvents(150, 'w', publishers))));
    const drained = consumer();
    // A full batch (100 of 150 records) has not caught up; the next one ends on a short read.
    expect(await drained.runOnce()).toMatchObject({ records: 100, caughtUp: false });
    expect(await drained.runOnce()).toMatchObject({ records: 50, caughtUp: true });
    expect(await drained.runOnce()).toEqual({ records: 0, events: 0, caughtUp: true });

    // Following: after a caught-up commit the consumer sleeps (a poll interval far longer than this test) instead
    // of starting the next transaction at once, so a steady trickle is committed in batches, not event by event.
    // More events arrive while the first batch commits: they wait for the next poll.
    const commits: RollupCommitInfo[] = [];
    let appended = false;
    const following = new RollupConsumer({
      log,
      store,
      name: `${drained.name}-follow`,
      pollMs: 60_000,
      onCommit: (info) => commits.push(info),
      beforeCommit: async () => {
        if (appended) return;
        appended = true;
        await log.append(encodeEvents(tagged(makeEvents(5, 'w2', publishers))));
      },
    });
    following.start();
    try {
      await eventually(async () => expect(commits).toHaveLength(1));
      await new Promise((r) => setTimeout(r, 300));
      expect(commits.map((c) => c.records)).toEqual([150]);
    } finally {
      await following.stop();
      await log.close();
    }
  });

  it('drops a repeated event id (a retried append) but counts it again never', async () => {
    const { log, consumer, tagged, totals } = await setup(30);
    const events = tagged(makeEvents(100, 'g', publishers));
    await log.append(encodeEvents(events));
    await log.append(encodeEvents(events.slice(40, 60)));
    const c = consumer();
    expect(await c.drain()).toBe(100);
    expect(c.getStats().duplicates).toBe(20);
    expect(await totals()).toEqual(expectedTotals(events, shares));
    await log.close();
  });

  if (backend === 'postgres') {
    it('keeps retrying while the database connections are killed, then catches up exactly', async () => {
      const { log, consumer, tagged, totals } = await setup(100);
      const errors: unknown[] = [];
      const c = consumer({ onError: (e) => errors.push(e), maxBackoffMs: 100 });
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      c.start();
      try {
        const events = tagged(makeEvents(3_000, 'h', publishers));
        for (let i = 0; i < 3_000; i += 300) {
          await log.append(encodeEvents(events.slice(i, i + 300)));
          await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [
            `marquee:${schema}`,
          ]);
          await new Promise((r) => setTimeout(r, 30));
        }
        await eventually(async () => expect(await totals()).toEqual(expectedTotals(events, shares)));
      } finally {
        await c.stop();
        await admin.end();
        await log.close();
      }
    });
  }
});

describe('rollup consumer on a NATS JetStream log', () => {
  it('rolls up from JetStream exactly once across a restart', async () => {
    const store = await createStore({});
    const n = `${process.pid}_${randomBytes(3).toString('hex')}`;
    const options = { servers: NATS_URL, stream: `MQ_TEST_ROLLUP_${n}`, subject: `mq.test.rollup.${n}` };
    let log: EventLog = await createNatsEventLog(options);
    try {
      const pub = await store.repos.publisher.create(fixtures.publisher({ revenueShareBps: 6_000 }), actor);
      if (pub.kind !== 'ok') throw new Error('publisher');
      const events = makeEvents(500, 'n', [pub.entity.id]);
      await log.append(encodeEvents(events.slice(0, 250)));
      expect(await new RollupConsumer({ log, store, batchSize: 64 }).drain()).toBe(250);
      await log.close();
      log = await createNatsEventLog(options);
      await log.append(encodeEvents(events.slice(250)));
      expect(await new RollupConsumer({ log, store, batchSize: 64 }).drain()).toBe(250);
      const [total] = await store.rollups.query({ dimensions: [], timeZone: 'UTC', maxGroups: 2 });
      expect(total?.measures).toEqual(expectedTotals(events, { [pub.entity.id]: 6_000 }));
    } finally {
      const nats = log as Awaited<ReturnType<typeof createNatsEventLog>>;
      await nats.destroy().catch(() => {});
      await nats.close();
      await store.close();
    }
  });
});
