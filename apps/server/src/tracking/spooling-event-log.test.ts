/**
 * NATS mode with the local spool: NATS goes away (a local TCP relay is stopped; the shared server is never
 * touched), appends are still acknowledged from the spool, and when it returns the spool drains into the
 * stream in order: nothing lost, nothing twice. Also through the whole app (eventLog: 'nats').
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createFileEventLog,
  createNatsEventLog,
  decodeEvent,
  encodeEvent,
  START_POSITION,
  type TrackingEvent,
} from '@marquee/events';
import { afterAll, describe, expect, it } from 'vitest';
import { servingOf, trackingOf } from '../app.ts';
import { createTestApp } from '../testing/test-app.ts';
import { natsSubjectOf } from './open-event-log.ts';
import { createSpoolingEventLog, type SpoolingEventLog } from './spooling-event-log.ts';
import { startRelay } from './tcp-relay.ts';
import { decide, pathOf, seedWorld, testClock } from './tracking-world.ts';

const NATS = process.env['MARQUEE_TEST_NATS_URL'] ?? '127.0.0.1:4222';
const natsPort = Number(
  NATS.replace(/^nats:\/\//, '')
    .split(':')
    .at(-1),
);
const streams: string[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const stream of streams) {
    const log = await createNatsEventLog({ servers: NATS, stream, subject: natsSubjectOf(stream) });
    await log.destroy();
    await log.close();
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const uniqueStream = () => {
  const stream = `MQ_TRK_SPOOL_${randomBytes(4).toString('hex')}`;
  streams.push(stream);
  return stream;
};
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'marquee-spool-'));
  dirs.push(d);
  return d;
};

function event(i: number, tag: string): TrackingEvent {
  return {
    kind: 'impression',
    eventId: `${tag}-${i}`,
    decisionId: `d-${i}`,
    lineItemId: 'li',
    creativeId: 'cr',
    advertiserId: 'adv',
    campaignId: 'cmp',
    publisherId: 'pub',
    siteId: 'site',
    placementId: 'plc',
    tsMs: 1_000 + i,
    priceMicros: 0,
    country: '',
    deviceType: '',
    userKey: '',
    verdict: 'valid',
    reason: '',
  };
}

async function streamIds(stream: string): Promise<string[]> {
  const log = await createNatsEventLog({ servers: NATS, stream, subject: natsSubjectOf(stream) });
  const ids: string[] = [];
  let from = START_POSITION;
  for (;;) {
    const { events, next } = await log.read(from, 1000);
    if (events.length === 0) break;
    for (const r of events) ids.push(decodeEvent(r.data).eventId);
    from = next;
  }
  await log.close();
  return ids;
}

describe('SpoolingEventLog', () => {
  it('acknowledges from the spool while NATS is away and drains in order when it is back', {
    timeout: 60_000,
  }, async () => {
    const stream = uniqueStream();
    const relay = await startRelay(natsPort);
    const primary = await createNatsEventLog({
      servers: `127.0.0.1:${relay.port}`,
      stream,
      subject: natsSubjectOf(stream),
      publishTimeoutMs: 500,
    });
    const spool = await createFileEventLog({ dir: tempDir() });
    const log: SpoolingEventLog = await createSpoolingEventLog({ primary, spool, retryMs: 100 });

    await log.append([encodeEvent(event(0, 'e')), encodeEvent(event(1, 'e'))]);
    expect(log.stats.spooling).toBe(false);
    await relay.stop();
    // NATS is away: every append still resolves (durable in the spool), in several concurrent calls.
    const pending = [];
    for (let i = 2; i < 202; i += 10) {
      pending.push(log.append(Array.from({ length: 10 }, (_, k) => encodeEvent(event(i + k, 'e')))));
    }
    await Promise.all(pending);
    expect(log.stats.spooling).toBe(true);
    expect(log.stats.spooled).toBeGreaterThanOrEqual(190);
    // Still away: later appends queue behind the spooled ones.
    await log.append([encodeEvent(event(202, 'e'))]);

    await relay.start();
    expect(await log.waitDrained(30_000)).toBe(true);
    await log.append([encodeEvent(event(203, 'e'))]); // direct again
    const ids = await streamIds(stream);
    expect(ids).toEqual(Array.from({ length: 204 }, (_, i) => `e-${i}`));
    await log.close();
    await relay.stop();
  });

  it('a spool left by a stopped process is forwarded by the next start', { timeout: 60_000 }, async () => {
    const stream = uniqueStream();
    const dir = tempDir();
    const relay = await startRelay(natsPort);
    const first = await createSpoolingEventLog({
      primary: await createNatsEventLog({
        servers: `127.0.0.1:${relay.port}`,
        stream,
        subject: natsSubjectOf(stream),
        publishTimeoutMs: 300,
      }),
      spool: await createFileEventLog({ dir }),
      retryMs: 100,
    });
    await relay.stop();
    await first.append(Array.from({ length: 50 }, (_, i) => encodeEvent(event(i, 's'))));
    expect(first.stats.spooling).toBe(true);
    await first.close(); // events stay in the spool, durable
    await relay.start();
    const second = await createSpoolingEventLog({
      primary: await createNatsEventLog({
        servers: `127.0.0.1:${relay.port}`,
        stream,
        subject: natsSubjectOf(stream),
        publishTimeoutMs: 500,
      }),
      spool: await createFileEventLog({ dir }),
      retryMs: 100,
    });
    expect(await second.waitDrained(30_000)).toBe(true);
    expect(await streamIds(stream)).toEqual(Array.from({ length: 50 }, (_, i) => `s-${i}`));
    await second.close();
    await relay.stop();
  });
});

describe('the app in NATS mode', () => {
  it('acknowledges pixels while NATS is away, and the stream gets every event once', { timeout: 90_000 }, async () => {
    const stream = uniqueStream();
    const relay = await startRelay(natsPort);
    const clock = testClock();
    const t = await createTestApp({
      now: clock.now,
      config: { eventLog: 'nats', natsUrl: `127.0.0.1:${relay.port}`, natsStream: stream },
    });
    try {
      const w = await seedWorld(t.store);
      await servingOf(t.app).state.waitFor((await t.store.feed.loadSnapshot()).seq);
      const log = trackingOf(t.app).log as SpoolingEventLog;
      const ads = [];
      for (let i = 0; i < 6; i++) ads.push((await decide(t.app, w.placements.cpm, `n-${i}`)).ad!);
      await t.app.inject({ method: 'GET', url: pathOf(ads[0]!.tracking.impression) });
      await relay.stop();
      for (const ad of ads.slice(1)) {
        expect((await t.app.inject({ method: 'GET', url: pathOf(ad.tracking.impression) })).statusCode).toBe(200);
      }
      expect(log.stats.spooling).toBe(true);
      // Spend moved for every acknowledged impression, although NATS has not seen them yet.
      expect(servingOf(t.app).spend.lifetime(w.lineItems.cpm)).toEqual({ spendMicros: 6 * 4_000, impressions: 6 });
      await relay.start();
      expect(await log.waitDrained(30_000)).toBe(true);
      const impressions = (await streamIds(stream)).length;
      const all = [];
      const reader = await createNatsEventLog({ servers: NATS, stream, subject: natsSubjectOf(stream) });
      let from = START_POSITION;
      for (;;) {
        const { events, next } = await reader.read(from, 1000);
        if (events.length === 0) break;
        all.push(...events.map((r) => decodeEvent(r.data)));
        from = next;
      }
      await reader.close();
      expect(all.length).toBe(impressions);
      const imps = all.filter((e) => e.kind === 'impression');
      expect(imps.map((e) => e.decisionId)).toEqual(ads.map((a) => a.decisionId));
      expect(new Set(all.map((e) => e.eventId)).size).toBe(all.length);
      expect(all.filter((e) => e.kind === 'request')).toHaveLength(6);
    } finally {
      await t.close();
      await relay.stop();
    }
  });
});
