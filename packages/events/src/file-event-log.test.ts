import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from './event-codec.ts';
import { describeEventLogContract } from './event-log.contract.ts';
import { EventLogCorruptionError, START_POSITION } from './event-log.ts';
import { createFileEventLog, type FileEventLog, type FileEventLogOptions, listSegmentFiles } from './file-event-log.ts';
import { sampleEvent } from './testing/sample-events.ts';

const tempDir = () => fsp.mkdtemp(path.join(os.tmpdir(), 'marquee-events-'));

describeEventLogContract('FileEventLog', async () => {
  const dir = await tempDir();
  return {
    open: () => createFileEventLog({ dir, segmentBytes: 1024 * 1024 }),
    destroy: () => fsp.rm(dir, { recursive: true, force: true }),
  };
});

describe('FileEventLog', () => {
  const dirs: string[] = [];
  const logs: FileEventLog[] = [];
  afterEach(async () => {
    for (const l of logs.splice(0)) await l.close();
    for (const d of dirs.splice(0)) await fsp.rm(d, { recursive: true, force: true });
  });
  async function open(options: Partial<FileEventLogOptions> & { dir?: string } = {}) {
    const dir = options.dir ?? (await tempDir());
    if (!dirs.includes(dir)) dirs.push(dir);
    const log = await createFileEventLog({ ...options, dir });
    logs.push(log);
    return log;
  }
  async function closeLast() {
    await logs.pop()!.close();
  }
  const events = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => encodeEvent(sampleEvent(from + i, 'f')));
  async function readIds(log: FileEventLog, from = START_POSITION) {
    const out: string[] = [];
    let position = from;
    for (;;) {
      const r = await log.read(position, 1000);
      if (r.events.length === 0) return out;
      out.push(...r.events.map((e) => decodeEvent(e.data).eventId));
      position = r.next;
    }
  }

  it('covers appends of one group-commit window with a single write and fsync', async () => {
    const log = await open({ groupCommitMs: 50 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(events(i * 5, 5))));
    expect(log.stats()).toMatchObject({ groups: 1, events: 100 });
  });

  it('commits at once when the pending bytes reach groupCommitBytes', async () => {
    // With a one-hour window only the byte threshold can trigger the commit.
    const log = await open({ groupCommitMs: 3_600_000, groupCommitBytes: 1 });
    const result = await log.append(events(0, 3));
    expect(result.count).toBe(3);
    expect(log.stats().groups).toBe(1);
  });

  it('rejects empty and oversized records', async () => {
    const log = await open({ maxRecordBytes: 100 });
    await expect(log.append([{ id: 'x', data: new Uint8Array(0) }])).rejects.toBeInstanceOf(RangeError);
    await expect(log.append([{ id: 'x', data: new Uint8Array(101) }])).rejects.toBeInstanceOf(RangeError);
    expect(log.stats().events).toBe(0);
  });

  it('refuses a second writer on the same directory', async () => {
    const log = await open();
    await expect(createFileEventLog({ dir: log.dir })).rejects.toThrow(/already open/);
  });

  it('rotates segments by size and reads across them', async () => {
    const log = await open({ segmentBytes: 4096 });
    for (let i = 0; i < 10; i++) await log.append(events(i * 10, 10));
    expect(listSegmentFiles(log.dir).length).toBeGreaterThan(5);
    expect(await readIds(log)).toEqual(events(0, 100).map((e) => e.id));
  });

  it('cuts a truncated final record on reopen and stays usable', async () => {
    const log = await open();
    await log.append(events(0, 10));
    const dir = log.dir;
    await closeLast();
    const [segment] = listSegmentFiles(dir);
    const size = fs.statSync(segment!).size;
    fs.truncateSync(segment!, size - 7); // the last record loses its end
    const again = await open({ dir });
    expect(again.recovery.truncatedBytes).toBeGreaterThan(0);
    expect(again.recovery.corruptAt).toBeNull();
    expect(await readIds(again)).toEqual(events(0, 9).map((e) => e.id));
    await again.append(events(100, 2));
    expect(await readIds(again)).toEqual([...events(0, 9), ...events(100, 2)].map((e) => e.id));
  });

  it('cuts garbage and zeros after the last record on reopen', async () => {
    for (const tail of [Buffer.from('\x05\x00\x00\x00garbage that is not a record'), Buffer.alloc(4096)]) {
      const log = await open();
      await log.append(events(0, 4));
      const dir = log.dir;
      await closeLast();
      fs.appendFileSync(listSegmentFiles(dir)[0]!, tail);
      const again = await open({ dir });
      expect(again.recovery).toEqual({ truncatedBytes: tail.length, corruptAt: null });
      expect(await readIds(again)).toEqual(events(0, 4).map((e) => e.id));
    }
  });

  it('reports a corrupt record in the middle instead of skipping it, and keeps accepting appends', async () => {
    const log = await open();
    const first = await log.append(events(0, 3));
    const second = await log.append(events(3, 3));
    const dir = log.dir;
    await closeLast();
    // Flip a byte inside the data of the second record: valid records follow it.
    const [segment] = listSegmentFiles(dir);
    const records = (await createFileEventLogForRead(dir)).records;
    const victim = records[1]!;
    const fd = fs.openSync(segment!, 'r+');
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, victim.offset + 20);
    byte[0] = byte[0]! ^ 0xff;
    fs.writeSync(fd, byte, 0, 1, victim.offset + 20);
    fs.closeSync(fd);

    const again = await open({ dir });
    expect(again.recovery.corruptAt).toBe(records[1]!.position);
    const head = await again.read(START_POSITION, 100);
    expect(head.events.map((e) => decodeEvent(e.data).eventId)).toEqual(['f-0']);
    await expect(again.read(head.next, 100)).rejects.toBeInstanceOf(EventLogCorruptionError);
    // New appends go to a fresh segment; a reader that skips the damaged one sees them.
    const later = await again.append(events(10, 2));
    expect(later.first! > second.last!).toBe(true);
    expect(first.first).toBe(records[0]!.position);
    expect(await readIds(again, later.first!)).toEqual(['f-10', 'f-11']);

    async function createFileEventLogForRead(d: string) {
      const l = await createFileEventLog({ dir: d });
      const r = await l.read(START_POSITION, 100);
      await l.close();
      return {
        records: r.events.map((e) => ({ position: e.position, offset: Number(e.position.split('.')[1]) })),
      };
    }
  });

  it('retention deletes old segments by total size, never past the consumer position', async () => {
    let committed = START_POSITION;
    const log = await open({
      segmentBytes: 4096,
      retention: { maxTotalBytes: 8192, sweepIntervalMs: 0 },
      minRetainedPosition: () => committed,
    });
    for (let i = 0; i < 20; i++) await log.append(events(i * 10, 10));
    const before = listSegmentFiles(log.dir).length;
    expect(await log.sweep()).toBe(0); // the consumer has read nothing yet
    // The consumer commits after the first 100 events.
    let position = START_POSITION;
    let seen = 0;
    while (seen < 100) {
      const r = await log.read(position, 100 - seen);
      seen += r.events.length;
      position = r.next;
    }
    committed = position;
    const deleted = await log.sweep();
    expect(deleted).toBeGreaterThan(0);
    expect(listSegmentFiles(log.dir).length).toBe(before - deleted);
    // Everything from the committed position on is still there.
    expect(await readIds(log, committed)).toEqual(events(100, 100).map((e) => e.id));
    // Reading from the start now begins at the oldest retained event, at or before the committed one.
    const fromStart = await readIds(log);
    expect(fromStart.length).toBeGreaterThanOrEqual(100);
    expect(fromStart.slice(-100)).toEqual(events(100, 100).map((e) => e.id));
  });

  it('retention by age uses the given clock and keeps the active segment', async () => {
    const log = await open({ segmentBytes: 4096, retention: { maxAgeMs: 60_000, sweepIntervalMs: 0 } });
    for (let i = 0; i < 10; i++) await log.append(events(i * 10, 10));
    expect(await log.sweep(Date.now() - 3_600_000)).toBe(0);
    await log.sweep(Date.now() + 3_600_000);
    expect(listSegmentFiles(log.dir).length).toBe(1);
    await log.append(events(100, 1));
    expect(await readIds(log, await log.end())).toEqual([]);
  });

  it('lets a reader follow the writer', async () => {
    const log = await open({ groupCommitMs: 1 });
    let position = START_POSITION;
    const seen: string[] = [];
    for (let round = 0; round < 20; round++) {
      const appended = log.append(events(round * 7, 7));
      const r = await log.read(position, 1000);
      seen.push(...r.events.map((e) => decodeEvent(e.data).eventId));
      position = r.next;
      await appended;
    }
    seen.push(...(await readIds(log, position)));
    expect(seen).toEqual(events(0, 140).map((e) => e.id));
  });
});
