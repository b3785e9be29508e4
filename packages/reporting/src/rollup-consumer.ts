/**
 * The rollup consumer: follows the event log from the position it committed last, aggregates each
 * batch in memory (aggregate-events.ts) and writes the aggregates AND the new position in one SQL
 * transaction (RollupStore.commit). A batch is read in slices (readSize records) that are aggregated as they
 * come: when the consumer is behind, one transaction covers up to batchSize records (the SQL cost is per
 * aggregated row, nearly independent of the event count), and when it has caught up, or after maxBatchMs,
 * it commits what it has, so the lag stays bounded. A crash before the commit leaves the old position, so the batch is
 * read again; a crash after leaves both: every event is counted exactly once. The commit is a
 * compare-and-set on the position, so a second instance by mistake, or a retry of a commit whose
 * acknowledgement was lost, is refused instead of counted twice.
 *
 * When the store is down, reads keep their position and the loop retries with backoff; events wait in
 * the log and drain when it returns.
 */

import { decodeEvent, type EventLog, type LogPosition, START_POSITION, type TrackingEvent } from '@marquee/events';
import { ALL, type EntityRepository, type RollupBatch, type RollupStore } from '@marquee/store';
import { HourlyAggregator } from './aggregate-events.ts';
import { RecentEventIds } from './recent-event-ids.ts';

export interface RollupCommitInfo {
  readonly from: LogPosition;
  readonly next: LogPosition;
  readonly records: number;
  /** Events rolled up (records less undecodable ones and repeated event ids). */
  readonly events: number;
  readonly rows: number;
  /** Event time (tsMs) of the oldest and newest event of the batch; NaN when none. */
  readonly minTsMs: number;
  readonly maxTsMs: number;
  /** When the transaction committed (the `now` clock). */
  readonly committedAtMs: number;
}

export interface RollupConsumerOptions {
  readonly log: EventLog;
  readonly store: {
    readonly rollups: RollupStore;
    readonly repos: { readonly publisher: Pick<EntityRepository<'publisher'>, 'getMany'> };
  };
  /** The consumer's name in rollup_positions (one position per name). Default 'rollups'. */
  readonly name?: string;
  /** Most log records per transaction. Default 200,000. */
  readonly batchSize?: number;
  /** Log records per read (aggregated, then dropped, before the next read). Default 20,000. */
  readonly readSize?: number;
  /** A batch stops growing once it has been read and aggregated for this long. Default 1,000 ms. */
  readonly maxBatchMs?: number;
  /**
   * Pause when the log has nothing new, and after a batch that caught up with the log's end (so a steady trickle
   * of events is committed in batches of pollMs, not one transaction per handful of events). Default 500 ms (rows
   * appear within about a second).
   */
  readonly pollMs?: number;
  /** Longest pause between retries while the store or the log fails. Default 10 s. */
  readonly maxBackoffMs?: number;
  /** How long a publisher's revenue share is cached. Default 60 s. */
  readonly sharesTtlMs?: number;
  /** How many recent event ids are remembered to drop a repeated event. Default 200,000. */
  readonly dedupWindow?: number;
  readonly now?: () => number;
  readonly onCommit?: (info: RollupCommitInfo) => void;
  /** Store or log failures (the loop retries) and undecodable records (skipped). */
  readonly onError?: (error: unknown, context: string) => void;
  /** Test seam: runs after aggregation, before the transaction (a throw here is a crash before commit). */
  readonly beforeCommit?: (batch: RollupBatch) => void | Promise<void>;
}

export interface RollupConsumerStats {
  readonly batches: number;
  readonly events: number;
  readonly skipped: number;
  readonly duplicates: number;
  readonly failures: number;
  readonly position: LogPosition | undefined;
  /** committedAt - event time of the newest event in the last batch. */
  readonly lastLagMs: number;
}

/** Longest stretch of decoding or aggregating before the consumer yields to the event loop. */
const SLICE_MS = 4;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class RollupConsumer {
  readonly name: string;
  private readonly batchSize: number;
  private readonly readSize: number;
  private readonly maxBatchMs: number;
  private readonly pollMs: number;
  private readonly maxBackoffMs: number;
  private readonly sharesTtlMs: number;
  private readonly now: () => number;
  private readonly seen: RecentEventIds;
  private readonly shares = new Map<string, { bps: number; atMs: number }>();
  private position: LogPosition | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private stats = { batches: 0, events: 0, skipped: 0, duplicates: 0, failures: 0, lastLagMs: Number.NaN };

  constructor(private readonly options: RollupConsumerOptions) {
    this.name = options.name ?? 'rollups';
    this.batchSize = options.batchSize ?? 200_000;
    this.readSize = options.readSize ?? 20_000;
    this.maxBatchMs = options.maxBatchMs ?? 1_000;
    this.pollMs = options.pollMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.sharesTtlMs = options.sharesTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.seen = new RecentEventIds(options.dedupWindow ?? 200_000);
  }

  getStats(): RollupConsumerStats {
    return { ...this.stats, position: this.position };
  }

  /** Follows the log in the background until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.follow();
  }

  /** Finishes the batch in flight (its transaction commits or rolls back whole), then stops. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** Rolls everything up to the end of the log (tests, CLI). Returns the events rolled up. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const { records, events } = await this.runOnce();
      total += events;
      if (records === 0) return total;
    }
  }

  /** Reads and aggregates one batch (one or more reads), then commits it. */
  async runOnce(): Promise<{ records: number; events: number; caughtUp: boolean }> {
    if (this.position === undefined) {
      this.position = (await this.options.store.rollups.position(this.name)) ?? START_POSITION;
    }
    const from = this.position;
    const startedAt = performance.now();
    const aggregator = new HourlyAggregator((publisherId) => this.shares.get(publisherId)?.bps ?? 0);
    const inBatch = new Set<string>();
    let next = from;
    let records = 0;
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = Number.NEGATIVE_INFINITY;
    let caughtUp = false;
    let skipped = 0;
    let duplicates = 0;
    for (;;) {
      const want = Math.min(this.readSize, this.batchSize - records);
      const read = await this.options.log.read(next, want);
      const slice: TrackingEvent[] = [];
      let sliceStart = performance.now();
      for (let i = 0; i < read.events.length; i++) {
        // The consumer shares its thread with serving (or, in a cluster, with the workers' cap lookups and
        // appends): a read of thousands of records is decoded in slices of a few ms, yielding in between.
        if ((i & 127) === 127 && performance.now() - sliceStart >= SLICE_MS) {
          await yieldToLoop();
          sliceStart = performance.now();
        }
        const record = read.events[i]!;
        let event: TrackingEvent;
        try {
          event = decodeEvent(record.data);
        } catch (error) {
          // A record that is not a tracking event can never become one: skip it (reported), do not stall.
          skipped++;
          this.options.onError?.(error, `undecodable record at ${record.position}`);
          continue;
        }
        if (this.seen.has(event.eventId) || inBatch.has(event.eventId)) {
          duplicates++;
          continue;
        }
        inBatch.add(event.eventId);
        slice.push(event);
        if (event.tsMs < minTs) minTs = event.tsMs;
        if (event.tsMs > maxTs) maxTs = event.tsMs;
      }
      // Shares first: revenue is computed as the events are added.
      await this.loadShares(slice);
      sliceStart = performance.now();
      for (let i = 0; i < slice.length; i++) {
        if ((i & 255) === 255 && performance.now() - sliceStart >= SLICE_MS) {
          await yieldToLoop();
          sliceStart = performance.now();
        }
        aggregator.add(slice[i]!);
      }
      records += read.events.length;
      next = read.next;
      // Caught up (a short read), full, or long enough: commit what this batch has.
      if (read.events.length < want) {
        caughtUp = true;
        break;
      }
      if (records >= this.batchSize) break;
      if (performance.now() - startedAt >= this.maxBatchMs) break;
    }
    if (records === 0) return { records: 0, events: 0, caughtUp: true };

    const aggregated = aggregator.result();
    const events = aggregated.events;
    const batch: RollupBatch = { rows: aggregated.rows, invalid: aggregated.invalid, records };
    await this.options.beforeCommit?.(batch);
    const result = await this.options.store.rollups.commit(this.name, from, next, batch);
    if (result === 'moved') {
      // Someone else (or our own earlier commit whose reply was lost) moved the position: reload it.
      this.position = undefined;
      return { records, events: 0, caughtUp: false };
    }
    const committedAtMs = this.now();
    this.position = next;
    // Only now: ids of a batch that failed to commit must not be dropped when it is read again.
    for (const id of inBatch) this.seen.add(id);
    this.stats.batches++;
    this.stats.events += events;
    this.stats.skipped += skipped;
    this.stats.duplicates += duplicates;
    if (events > 0) this.stats.lastLagMs = committedAtMs - maxTs;
    this.options.onCommit?.({
      from,
      next,
      records,
      events,
      rows: batch.rows.length,
      minTsMs: events ? minTs : Number.NaN,
      maxTsMs: events ? maxTs : Number.NaN,
      committedAtMs,
    });
    return { records, events, caughtUp };
  }

  private async loadShares(events: readonly TrackingEvent[]): Promise<void> {
    const nowMs = this.now();
    const wanted = new Set<string>();
    for (const e of events) {
      if (e.priceMicros <= 0 || e.publisherId === '' || wanted.has(e.publisherId)) continue;
      const cached = this.shares.get(e.publisherId);
      if (!cached || nowMs - cached.atMs > this.sharesTtlMs) wanted.add(e.publisherId);
    }
    if (wanted.size === 0) return;
    const ids = [...wanted];
    const publishers = await this.options.store.repos.publisher.getMany(ids, ALL);
    const found = new Map(publishers.map((p) => [p.id, p.revenueShareBps]));
    // An unknown publisher earns nothing (its id came from a signed URL, so this is a deleted row).
    for (const id of ids) this.shares.set(id, { bps: found.get(id) ?? 0, atMs: nowMs });
  }

  private async follow(): Promise<void> {
    let backoff = this.pollMs;
    while (this.running) {
      let idle = false;
      try {
        // Caught up: wait for more rather than commit again at once (each commit is a transaction whose cost
        // hardly depends on its event count; under a steady load that was one per few events, 2026-11-27).
        idle = (await this.runOnce()).caughtUp;
        backoff = this.pollMs;
      } catch (error) {
        this.stats.failures++;
        this.position = undefined; // re-read the committed position: the failed commit may have landed
        this.options.onError?.(error, 'rollup batch failed; retrying');
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.maxBackoffMs);
        continue;
      }
      if (idle) await this.sleep(this.pollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

export function createRollupConsumer(options: RollupConsumerOptions): RollupConsumer {
  return new RollupConsumer(options);
}
