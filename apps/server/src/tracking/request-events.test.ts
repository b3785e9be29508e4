import { decodeEvent, type EncodedEvent, type EventLog } from '@marquee/events';
import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../serving/decision-service.ts';
import { RequestEventBatcher } from './tracking.ts';

function fakeLog(fail = false) {
  const appends: EncodedEvent[][] = [];
  const log: EventLog = {
    append: async (events) => {
      appends.push([...events]);
      if (fail) throw new Error('disk gone');
      return { count: events.length, first: null, last: null };
    },
    read: async (from) => ({ events: [], next: from }),
    end: async () => '',
    close: async () => {},
  };
  return { log, appends };
}

const record = (placementIds: string[], userKey = 'u1'): DecisionRecord => ({
  nowMs: 1_000,
  userKey,
  country: 'GB',
  device: 'mobile',
  placements: placementIds.map((placementId) => ({ placementId, siteId: 's1', publisherId: 'p1', ads: [] })),
});

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('RequestEventBatcher', () => {
  it("appends one turn's request events as one batch, each an event of its own, in decision order", async () => {
    const { log, appends } = fakeLog();
    const stored: number[] = [];
    const batcher = new RequestEventBatcher(log, { stored: (n) => stored.push(n), lost: () => {} });
    batcher.add(record(['a', 'b'], 'u1'));
    batcher.add(record(['c'], 'u2'));
    expect(appends).toHaveLength(0); // never during the decision
    await turn();
    expect(appends).toHaveLength(1);
    const events = appends[0]!.map((e) => decodeEvent(e.data));
    expect(events.map((e) => [e.kind, e.placementId, e.userKey])).toEqual([
      ['request', 'a', 'u1'],
      ['request', 'b', 'u1'],
      ['request', 'c', 'u2'],
    ]);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(3);
    expect(appends[0]!.map((e) => e.id)).toEqual(events.map((e) => e.eventId));
    await turn();
    expect(stored).toEqual([3]);
    // The next turn's decisions make the next batch.
    batcher.add(record(['d']));
    await turn();
    expect(appends.map((a) => a.length)).toEqual([3, 1]);
  });

  it('flush() appends what is pending at once (before another append of the same turn), and nothing twice', async () => {
    const { log, appends } = fakeLog();
    const batcher = new RequestEventBatcher(log, { stored: () => {}, lost: () => {} });
    batcher.add(record(['a']));
    batcher.flush();
    expect(appends).toHaveLength(1);
    batcher.flush();
    await turn();
    expect(appends).toHaveLength(1);
  });

  it('counts a failed append as lost, not retried', async () => {
    const { log, appends } = fakeLog(true);
    const lost: number[] = [];
    const batcher = new RequestEventBatcher(log, { stored: () => {}, lost: (n) => lost.push(n) });
    batcher.add(record(['a', 'b']));
    await turn();
    await turn();
    expect(lost).toEqual([2]);
    await turn();
    expect(appends).toHaveLength(1);
  });
});
