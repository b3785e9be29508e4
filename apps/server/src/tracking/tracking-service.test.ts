/**
 * TrackingService.trackTokenTo, the per-hit entry of the pixel fast path: each hit's sink is told exactly once,
 * `durable` only after the append that holds its event, and the hits of one turn share that append.
 */
import { randomBytes } from 'node:crypto';
import type { InMemorySpendCounters, ServingSnapshot } from '@marquee/decision';
import type { EncodedEvent, EventLog } from '@marquee/events';
import { UrlSigner } from '@marquee/tracking';
import { describe, expect, it } from 'vitest';
import { benchClaims } from '../../../../bench/bench-claims.ts';
import type { AttributionIndex } from './attribution-index.ts';
import { InMemoryDeduplicator } from './in-memory-deduplicator.ts';
import { type HitSink, type Judged, TrackingService } from './tracking-service.ts';

const NOW = Date.UTC(2026, 2, 1, 12);
const meta = { ip: '127.0.0.1', ua: 'test', source: 'pixel' };

function setup(fail = false) {
  const signer = new UrlSigner([{ kid: 'k', secret: randomBytes(32) }]);
  const appends: number[] = [];
  const log = {
    append: async (events: readonly EncodedEvent[]) => {
      appends.push(events.length);
      if (fail) throw new Error('disk gone');
      return { count: events.length, first: null, last: null };
    },
  } as unknown as EventLog;
  const dedup = new InMemoryDeduplicator({ now: () => NOW });
  const service = new TrackingService({
    log,
    signer,
    dedup,
    attribution: { record: () => {} } as unknown as AttributionIndex,
    spend: { add: () => {} } as unknown as InMemorySpendCounters,
    snapshot: () => ({ lineItemById: new Map() }) as unknown as ServingSnapshot,
    now: () => NOW,
    maxClicksPerDecision: 1,
    conversionDedupMs: 60_000,
  });
  const token = (i: number) =>
    signer.sign(benchClaims({ lineItemId: 'li_1', placementId: 'pl_1', priceMicros: 1_000 }, i, NOW));
  return { service, token, appends, dedup };
}

/** A sink that records what it was told (and, if asked, throws from `durable` like a broken socket). */
function sink(throws = false) {
  const calls: string[] = [];
  const s: HitSink & { calls: string[]; judged?: Judged } = {
    calls,
    durable(j) {
      calls.push('durable');
      s.judged = j;
      if (throws) throw new Error('socket gone');
    },
    failed() {
      calls.push('failed');
    },
  };
  return s;
}
const turn = () => new Promise((r) => setImmediate(r));

describe('TrackingService.trackTokenTo', () => {
  it('tells each sink once, after one shared append; a sink that throws does not stop its batch-mates', async () => {
    const { service, token, appends } = setup();
    const t = token(1);
    const sinks = [sink(), sink(true), sink(), sink()];
    service.trackTokenTo('impression', t, undefined, meta, sinks[0]!);
    service.trackTokenTo('impression', token(2), undefined, meta, sinks[1]!);
    service.trackTokenTo('impression', t, undefined, meta, sinks[2]!); // replay: recorded as a duplicate
    service.trackTokenTo('impression', 'not.a.token', undefined, meta, sinks[3]!);
    expect(sinks.map((s) => s.calls.length)).toEqual([0, 0, 0, 0]); // nothing before the append
    await turn();
    await turn();
    expect(appends).toEqual([4]);
    expect(sinks.map((s) => s.calls)).toEqual([['durable'], ['durable'], ['durable'], ['durable']]);
    expect(sinks.map((s) => s.judged!.event.reason || s.judged!.event.verdict)).toEqual([
      'valid',
      'valid',
      'duplicate',
      'malformed',
    ]);
    expect(sinks[0]!.judged!.event.source).toBe('pixel');
  });

  it('a failed append: every sink of the batch fails and the claims are given back', async () => {
    const { service, token, dedup } = setup(true);
    const sinks = [sink(), sink()];
    service.trackTokenTo('impression', token(1), undefined, meta, sinks[0]!);
    service.trackTokenTo('impression', token(2), undefined, meta, sinks[1]!);
    expect(dedup.size).toBe(2);
    await turn();
    await turn();
    expect(sinks.map((s) => s.calls)).toEqual([['failed'], ['failed']]);
    expect(dedup.size).toBe(0);
  });
});
