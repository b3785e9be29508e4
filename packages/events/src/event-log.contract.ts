import { afterEach, describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from './event-codec.ts';
import { type EncodedEvent, type EventLog, EventLogClosedError, type LogRecord, START_POSITION } from './event-log.ts';
import { sampleEvent } from './testing/sample-events.ts';

/**
 * Storage behind one contract test: `open` may be called again after the previous log was closed and must
 * reopen the same storage; `destroy` removes it.
 */
export interface EventLogContractTarget {
  open(): Promise<EventLog>;
  destroy(): Promise<void>;
}

function batch(from: number, count: number, prefix: string): EncodedEvent[] {
  const out: EncodedEvent[] = [];
  for (let i = 0; i < count; i++) out.push(encodeEvent(sampleEvent(from + i, prefix)));
  return out;
}

async function readAll(log: EventLog, from = START_POSITION, max = 10_000): Promise<LogRecord[]> {
  const all: LogRecord[] = [];
  let position = from;
  for (;;) {
    const { events, next } = await log.read(position, max);
    if (events.length === 0) return all;
    all.push(...events);
    position = next;
  }
}

const ids = (records: readonly LogRecord[]) => records.map((r) => decodeEvent(r.data).eventId);

/** The behaviour every EventLog implementation must have (see event-log.ts). */
export function describeEventLogContract(name: string, target: () => Promise<EventLogContractTarget>): void {
  describe(`EventLog contract: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });
    async function setup() {
      const t = await target();
      const opened: EventLog[] = [];
      cleanups.push(async () => {
        for (const l of opened) await l.close();
        await t.destroy();
      });
      return {
        open: async () => {
          const log = await t.open();
          opened.push(log);
          return log;
        },
      };
    }

    it('reads back appended events in order, byte for byte', async () => {
      const { open } = await setup();
      const log = await open();
      expect(await log.read(START_POSITION, 10)).toEqual({ events: [], next: START_POSITION });
      const events = batch(0, 25, 'a');
      const result = await log.append(events);
      expect(result.count).toBe(25);
      const records = await readAll(log);
      expect(records.map((r) => Buffer.from(r.data).toString())).toEqual(
        events.map((e) => Buffer.from(e.data).toString()),
      );
      expect(records[0]!.position).toBe(result.first);
      expect(records.at(-1)!.position).toBe(result.last);
      expect(await log.end()).toBe((await log.read(START_POSITION, 100)).next);
      expect(await log.append([])).toEqual({ count: 0, first: null, last: null });
    });

    it('keeps concurrent appends whole, each event exactly once, positions strictly increasing', async () => {
      const { open } = await setup();
      const log = await open();
      const batches = Array.from({ length: 40 }, (_, b) => batch(b * 10, 1 + (b % 10), 'c'));
      const results = await Promise.all(batches.map((events) => log.append(events)));
      const records = await readAll(log, START_POSITION, 37);
      const expected = batches.flat().map((e) => e.id);
      expect(ids(records).sort()).toEqual([...expected].sort());
      for (let i = 1; i < records.length; i++) {
        expect(records[i - 1]!.position < records[i]!.position).toBe(true);
      }
      // Each append's events are read in the order given, between its reported first and last positions.
      for (let b = 0; b < batches.length; b++) {
        const { first, last } = results[b]!;
        const mine = records.filter((r) => r.position >= first! && r.position <= last!);
        expect(ids(mine).filter((id) => batches[b]!.some((e) => e.id === id))).toEqual(batches[b]!.map((e) => e.id));
      }
    });

    it('resumes exactly from a committed position', async () => {
      const { open } = await setup();
      const log = await open();
      await log.append(batch(0, 30, 'r'));
      const first = await log.read(START_POSITION, 12);
      expect(ids(first.events)).toEqual(batch(0, 12, 'r').map((e) => e.id));
      const rest = await log.read(first.next, 1000);
      expect(ids(rest.events)).toEqual(batch(12, 18, 'r').map((e) => e.id));
      expect(first.next <= rest.events[0]!.position).toBe(true);
      // Nothing more yet: the same position comes back, and new events appear after it.
      const idle = await log.read(rest.next, 10);
      expect(idle).toEqual({ events: [], next: rest.next });
      await log.append(batch(30, 3, 'r'));
      expect(ids((await log.read(rest.next, 10)).events)).toEqual(batch(30, 3, 'r').map((e) => e.id));
    });

    it('keeps everything across close and reopen, and appends after it', async () => {
      const { open } = await setup();
      const log = await open();
      await log.append(batch(0, 50, 'o'));
      const middle = (await log.read(START_POSITION, 20)).next;
      const pending = log.append(batch(50, 50, 'o'));
      await log.close();
      await pending; // close waits for pending appends to be durable
      await expect(log.append(batch(100, 1, 'o'))).rejects.toBeInstanceOf(EventLogClosedError);
      const again = await open();
      expect(ids(await readAll(again))).toEqual(batch(0, 100, 'o').map((e) => e.id));
      expect(ids(await readAll(again, middle))).toEqual(batch(20, 80, 'o').map((e) => e.id));
      await again.append(batch(100, 5, 'o'));
      const all = await readAll(again);
      expect(ids(all)).toEqual(batch(0, 105, 'o').map((e) => e.id));
    });

    it('appends and reads a batch of 100,000 events', async () => {
      const { open } = await setup();
      const log = await open();
      const events = batch(0, 100_000, 'big');
      const result = await log.append(events);
      expect(result.count).toBe(100_000);
      const records = await readAll(log, START_POSITION, 25_000);
      expect(records.length).toBe(100_000);
      const got = ids(records);
      for (let i = 0; i < events.length; i++) {
        if (got[i] !== events[i]!.id) expect(got[i]).toBe(events[i]!.id);
      }
    }, 120_000);
  });
}
