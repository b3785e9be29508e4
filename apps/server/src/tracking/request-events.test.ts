import { decodeEvent, type EncodedEvent, type EventLog } from '@marquee/events';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
  it("with flushAfterMs 0, appends one turn's request events as one batch, each an event of its own, in decision order", async () => {
    const { log, appends } = fakeLog();
    const stored: number[] = [];
    const batcher = new RequestEventBatcher(
      log,
      { stored: (n) => stored.push(n), lost: () => {} },
      { flushAfterMs: 0 },
    );
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
    const batcher = new RequestEventBatcher(log, { stored: () => {}, lost: (n) => lost.push(n) }, { flushAfterMs: 0 });
    batcher.add(record(['a', 'b']));
    await turn();
    await turn();
    expect(lost).toEqual([2]);
    await turn();
    expect(appends).toHaveLength(1);
  });

  describe('the default window', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('gathers the request events of 50 ms, across turns, into one append', async () => {
      vi.useFakeTimers();
      const { log, appends } = fakeLog();
      const stored: number[] = [];
      const batcher = new RequestEventBatcher(log, { stored: (n) => stored.push(n), lost: () => {} });
      batcher.add(record(['a']));
      await vi.advanceTimersByTimeAsync(20);
      batcher.add(record(['b', 'c']));
      await vi.advanceTimersByTimeAsync(29);
      expect(appends).toHaveLength(0); // not at the end of the turn: a group commit (fdatasync) per turn was the cost
      await vi.advanceTimersByTimeAsync(1);
      expect(appends.map((a) => a.map((e) => decodeEvent(e.data).placementId))).toEqual([['a', 'b', 'c']]);
      expect(stored).toEqual([3]);
      // The window starts again with the next decision.
      batcher.add(record(['d']));
      await vi.advanceTimersByTimeAsync(50);
      expect(appends.map((a) => a.length)).toEqual([3, 1]);
      await vi.advanceTimersByTimeAsync(500);
      expect(appends).toHaveLength(2); // no empty appends while idle
    });

    it('appends at once when maxPending are waiting, and flush() cancels the pending window', async () => {
      vi.useFakeTimers();
      const { log, appends } = fakeLog();
      const batcher = new RequestEventBatcher(log, { stored: () => {}, lost: () => {} }, { maxPending: 4 });
      batcher.add(record(['a', 'b']));
      batcher.add(record(['c']));
      expect(appends).toHaveLength(0);
      batcher.add(record(['d']));
      expect(appends.map((a) => a.length)).toEqual([4]);
      batcher.add(record(['e']));
      batcher.flush();
      expect(appends.map((a) => a.length)).toEqual([4, 1]);
      await vi.advanceTimersByTimeAsync(100);
      expect(appends).toHaveLength(2);
    });
  });
});
