/**
 * The scaled event log with a local safety net: events go to the primary log (NATS JetStream); when it
 * cannot acknowledge them, they go to a local spool (a FileEventLog: durable, so the request is still
 * acknowledged) and a drainer forwards the spool to the primary, in order, once it answers again.
 *
 * Order: while the spool holds events not yet forwarded, new events are spooled too (behind them), so the
 * primary receives events in the order they were acknowledged. Direct mode resumes only when the drainer
 * has forwarded everything and no spool append is in flight (both checked in one synchronous step).
 *
 * The drainer's progress is a position in the spool, kept in `<spoolDir>/drained` (written after each
 * forwarded batch). A crash between forwarding and recording it re-sends a batch: the primary drops
 * repeated ids (JetStream Nats-Msg-Id within its duplicate window) and consumers dedup by event id.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  type AppendResult,
  type EncodedEvent,
  type EventLog,
  EventLogClosedError,
  type FileEventLog,
  type LogPosition,
  type ReadResult,
  START_POSITION,
} from '@marquee/events';

export interface SpoolingEventLogOptions {
  readonly primary: EventLog;
  readonly spool: FileEventLog;
  /** Pause between attempts to reach the primary while spooling (default 1 s). */
  readonly retryMs?: number;
  /** Events forwarded per primary append (default 5,000). */
  readonly drainBatch?: number;
  readonly onError?: (error: unknown, what: string) => void;
}

export interface SpoolStats {
  readonly spooling: boolean;
  readonly spooled: number;
  readonly forwarded: number;
}

export async function createSpoolingEventLog(options: SpoolingEventLogOptions): Promise<SpoolingEventLog> {
  const log = new SpoolingEventLog(options, await readDrained(options.spool.dir));
  await log.start();
  return log;
}

export class SpoolingEventLog implements EventLog {
  private spooling = false;
  private spoolInFlight = 0;
  private closed = false;
  private draining: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private counters = { spooled: 0, forwarded: 0 };
  private readonly primary: EventLog;
  private readonly spool: FileEventLog;
  private readonly retryMs: number;
  private readonly drainBatch: number;
  private readonly onError: (error: unknown, what: string) => void;

  constructor(
    options: SpoolingEventLogOptions,
    private drained: LogPosition,
  ) {
    this.primary = options.primary;
    this.spool = options.spool;
    this.retryMs = options.retryMs ?? 1000;
    this.drainBatch = options.drainBatch ?? 5000;
    this.onError = options.onError ?? (() => {});
  }

  get stats(): SpoolStats {
    return { spooling: this.spooling, ...this.counters };
  }

  /** Resumes a spool left by a previous run (NATS was down when the process stopped). */
  async start(): Promise<void> {
    const end = await this.spool.end();
    if (end > this.drained && (await this.spool.read(this.drained, 1)).events.length > 0) this.enterSpooling();
  }

  async append(events: readonly EncodedEvent[]): Promise<AppendResult> {
    if (this.closed) throw new EventLogClosedError();
    if (events.length === 0) return { count: 0, first: null, last: null };
    if (!this.spooling) {
      try {
        return await this.primary.append(events);
      } catch (err) {
        if (this.closed) throw err;
        this.onError(err, 'primary event log unavailable: spooling locally');
        this.enterSpooling();
      }
    }
    return this.appendToSpool(events);
  }

  private async appendToSpool(events: readonly EncodedEvent[]): Promise<AppendResult> {
    this.spoolInFlight++;
    try {
      const result = await this.spool.append(events);
      this.counters.spooled += events.length;
      return result;
    } finally {
      this.spoolInFlight--;
      this.wake?.();
    }
  }

  private enterSpooling(): void {
    this.spooling = true;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (!this.closed) {
      let batch: ReadResult;
      try {
        batch = await this.spool.read(this.drained, this.drainBatch);
      } catch (err) {
        this.onError(err, 'spool read failed');
        await this.sleep(this.retryMs);
        continue;
      }
      if (batch.events.length === 0) {
        if (this.spoolInFlight === 0) {
          // Everything spooled is forwarded and nothing is on its way into the spool: back to direct mode.
          this.spooling = false;
          return;
        }
        await this.sleep(this.retryMs);
        continue;
      }
      try {
        await this.primary.append(batch.events.map((r) => ({ id: eventIdOf(r.data), data: r.data })));
      } catch (err) {
        this.onError(err, 'primary event log still unavailable');
        await this.sleep(this.retryMs);
        continue;
      }
      this.drained = batch.next;
      this.counters.forwarded += batch.events.length;
      await writeDrained(this.spool.dir, batch.next).catch((err) => this.onError(err, 'spool cursor write failed'));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        if (this.timer) clearTimeout(this.timer);
        this.wake = undefined;
        resolve();
      };
      this.timer = setTimeout(() => this.wake?.(), ms);
      this.timer.unref();
    });
  }

  /** Reads the primary (the log of record; spooled events appear there once forwarded). */
  read(from: LogPosition, max: number): Promise<ReadResult> {
    return this.primary.read(from, max);
  }

  end(): Promise<LogPosition> {
    return this.primary.end();
  }

  /** The position in the spool up to which events were forwarded (tests, metrics). */
  get drainedPosition(): LogPosition {
    return this.drained;
  }

  /** Waits until the spool is drained (or the timeout passes); true when drained. */
  async waitDrained(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.spooling && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return !this.spooling;
  }

  /**
   * Stops the drainer and closes both logs. Events still in the spool stay there, durable, and are
   * forwarded by the next start.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    await this.draining;
    await Promise.allSettled([this.primary.close(), this.spool.close()]);
  }
}

/** The event id is the record's dedup key; it is the JSON's `eventId` (read without parsing the whole record). */
function eventIdOf(data: Uint8Array): string {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  const m = /"eventId":"([^"]*)"/.exec(text);
  return m ? m[1]! : '';
}

const DRAINED_FILE = 'drained';

async function readDrained(dir: string): Promise<LogPosition> {
  try {
    return (await fs.readFile(path.join(dir, DRAINED_FILE), 'utf8')).trim();
  } catch {
    return START_POSITION;
  }
}

async function writeDrained(dir: string, position: LogPosition): Promise<void> {
  const file = path.join(dir, DRAINED_FILE);
  await fs.writeFile(`${file}.tmp`, position);
  await fs.rename(`${file}.tmp`, file);
}
