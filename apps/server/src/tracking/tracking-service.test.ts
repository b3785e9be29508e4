/**
 * TrackingService.trackTokenThen, the per-hit entry of the pixel fast path: each hit gets exactly one callback,
 * `resolve` only after the append that holds its event, and the hits of one turn share that append.
 */
import { randomBytes } from 'node:crypto';
import type { InMemorySpendCounters, ServingSnapshot } from '@marquee/decision';
import type { EncodedEvent, EventLog } from '@marquee/events';
import { UrlSigner } from '@marquee/tracking';
import { describe, expect, it } from 'vitest';
import { benchClaims } from '../../../../bench/bench-claims.ts';
import type { AttributionIndex } from './attribution-index.ts';
import { InMemoryDeduplicator } from './in-memory-deduplicator.ts';
import { type HitMeta, type Judged, type TokenKind, TrackingService } from './tracking-service.ts';

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

/** Callbacks that record what they were told (and, if asked, `durable` throws like a broken socket). */
function sink(throws = false) {
  const calls: string[] = [];
  const s: {
    calls: string[];
    judged?: Judged;
    durable: (j: Judged) => void;
    failed: (err: unknown) => void;
  } = {
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
const track = (service: TrackingService, kind: TokenKind, token: string, m: HitMeta, s: ReturnType<typeof sink>) =>
  service.trackTokenThen(kind, token, undefined, m, s.durable, s.failed);
const turn = () => new Promise((r) => setImmediate(r));

describe('TrackingService.trackTokenThen', () => {
  it('calls back each hit once, after one shared append; a callback that throws does not stop its batch-mates', async () => {
    const { service, token, appends } = setup();
    const t = token(1);
    const sinks = [sink(), sink(true), sink(), sink()];
    track(service, 'impression', t, meta, sinks[0]!);
    track(service, 'impression', token(2), meta, sinks[1]!);
    track(service, 'impression', t, meta, sinks[2]!); // replay: recorded as a duplicate
    track(service, 'impression', 'not.a.token', meta, sinks[3]!);
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

  it('a failed append: every hit of the batch is rejected and the claims are given back', async () => {
    const { service, token, dedup } = setup(true);
    const sinks = [sink(), sink()];
    track(service, 'impression', token(1), meta, sinks[0]!);
    track(service, 'impression', token(2), meta, sinks[1]!);
    expect(dedup.size).toBe(2);
    await turn();
    await turn();
    expect(sinks.map((s) => s.calls)).toEqual([['failed'], ['failed']]);
    expect(dedup.size).toBe(0);
  });
});
