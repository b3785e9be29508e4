/**
 * Reads the recent past of the event log back into memory on start: the log is the source of truth for
 * the dedup memory, the attribution index and today's spend, which live in process in the embedded
 * topology. Only the tail is read: from the first segment written at or after `sinceMs` (segment
 * modification times) for the file log; the whole stream for NATS (at scale, dedup lives in Redis).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  decodeEvent,
  type EventLog,
  FileEventLog,
  filePosition,
  type LogPosition,
  START_POSITION,
  type TrackingEvent,
} from '@marquee/events';

const REQUEST_PREFIX = Buffer.from('{"kind":"request"');

export interface ReplayStats {
  readonly read: number;
  readonly replayed: number;
  readonly ms: number;
}

/** Calls `handle` with every event at or after sinceMs (request events skipped unparsed), in log order. */
export async function replayTail(
  log: EventLog,
  sinceMs: number,
  handle: (events: TrackingEvent[]) => void,
  batch = 10_000,
): Promise<ReplayStats> {
  const started = performance.now();
  let from = await tailStart(log, sinceMs);
  let read = 0;
  let replayed = 0;
  for (;;) {
    const { events, next } = await log.read(from, batch);
    if (events.length === 0) break;
    read += events.length;
    const out: TrackingEvent[] = [];
    for (const r of events) {
      // Requests are most of the log and matter to none of the memories: skip them without parsing.
      if (r.data.length >= REQUEST_PREFIX.length && REQUEST_PREFIX.equals(r.data.subarray(0, REQUEST_PREFIX.length))) {
        continue;
      }
      let e: TrackingEvent;
      try {
        e = decodeEvent(r.data);
      } catch {
        continue; // not ours (a future kind): nothing to rebuild from it
      }
      if (e.tsMs >= sinceMs) out.push(e);
    }
    replayed += out.length;
    if (out.length > 0) handle(out);
    from = next;
  }
  return { read, replayed, ms: Math.round(performance.now() - started) };
}

/** The first position that may hold events at or after sinceMs. */
async function tailStart(log: EventLog, sinceMs: number): Promise<LogPosition> {
  if (!(log instanceof FileEventLog)) return START_POSITION;
  const names = (await fs.readdir(log.dir)).filter((n) => /^\d{10}\.log$/.test(n)).sort();
  // A segment last written before sinceMs holds only older events; start at the first one written after.
  for (const name of names) {
    const { mtimeMs } = await fs.stat(path.join(log.dir, name));
    if (mtimeMs >= sinceMs) return name === names[0] ? START_POSITION : filePosition(Number(name.slice(0, 10)), 0);
  }
  return log.end();
}
