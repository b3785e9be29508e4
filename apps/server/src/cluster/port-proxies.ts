/**
 * A worker's side of the shared ports: the same interfaces as the in-process implementations (event log,
 * deduplicator, frequency caps, budget leases, change feed, asset lookups), each call answered by the primary
 * over IPC (cluster/shared-ports.ts). They pass the ports' contract suites against a real child process
 * (cluster/port-proxies.test.ts).
 *
 * Nothing here is cached: the primary's counters are the only ones, so a cap or a duplicate holds across
 * workers. A call whose answer never comes (the primary died) fails with RpcUnavailableError, an
 * EventLogUnavailableError: tracking answers 503 and the client retries.
 */

import type { FrequencyCap } from '@marquee/core';
import { type CappedLineItem, type FrequencyCapStore, LoadedFrequencyCapView } from '@marquee/counters';
import type { FrequencyCapView } from '@marquee/decision';
import type { AppendResult, EncodedEvent, EventLog, LogPosition, ReadResult } from '@marquee/events';
import { EventLogClosedError } from '@marquee/events';
import type { BudgetLeaseStore, BudgetStatus, Lease, LeaseBudget, ReconcileInput } from '@marquee/pacing';
import type { AssetStore, Change, ChangeFeed, RollupGroup, RollupQuery, RollupStore, Snapshot } from '@marquee/store';
import type { ClaimRequest, Deduplicator } from '../tracking/deduplicator.ts';
import type { RpcChannel } from './rpc.ts';

/** The primary's event log. close() waits for this worker's appends in flight; the log itself stays open. */
export class RpcEventLog implements EventLog {
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;
  constructor(private readonly rpc: RpcChannel) {}

  append(events: readonly EncodedEvent[]): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new EventLogClosedError());
    // Gathered: the appends of one tick (a burst of decisions' request events) cross as one call.
    const p = this.rpc.gather<AppendResult>('log.appendEach', events);
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }
  read(from: LogPosition, max: number): Promise<ReadResult> {
    return this.rpc.call<ReadResult>('log.read', from, max);
  }
  end(): Promise<LogPosition> {
    return this.rpc.call<LogPosition>('log.end');
  }
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }
}

export class RpcDeduplicator implements Deduplicator {
  constructor(private readonly rpc: RpcChannel) {}
  claim(request: ClaimRequest): Promise<boolean> {
    return this.rpc.call<boolean>('dedup.claim', request);
  }
  claimMany(requests: readonly ClaimRequest[]): Promise<boolean[]> {
    return this.rpc.call<boolean[]>('dedup.claimMany', requests);
  }
  release(key: string): Promise<void> {
    return this.rpc.call<void>('dedup.release', key);
  }
  async close(): Promise<void> {}
}

/**
 * A line item's caps as they cross the channel: their JSON text, computed once per caps array of the snapshot
 * (the arrays are the snapshot's, stable between updates). Ids and texts are strings, which the structured
 * clone copies cheaply; an object per line item costs both sides several times more (bench/ipc-caps.ts).
 */
const capsTextOf = new WeakMap<readonly FrequencyCap[], string>();
export function capsText(caps: readonly FrequencyCap[]): string {
  let text = capsTextOf.get(caps);
  if (text === undefined) {
    text = JSON.stringify(caps);
    capsTextOf.set(caps, text);
  }
  return text;
}

/**
 * The arguments of `caps.load` on the wire: the line items' ids, the distinct caps texts, and for each id the
 * index of its caps text (a request's capped candidates share a handful of cap settings).
 */
export function capsLoadArgs(lineItems: readonly CappedLineItem[]): [string[], string[], number[]] {
  const ids = new Array<string>(lineItems.length);
  const sets: string[] = [];
  const setOf = new Array<number>(lineItems.length);
  for (let i = 0; i < lineItems.length; i++) {
    const li = lineItems[i]!;
    const text = capsText(li.frequencyCaps);
    let k = sets.indexOf(text);
    if (k === -1) k = sets.push(text) - 1;
    ids[i] = li.id;
    setOf[i] = k;
  }
  return [ids, sets, setOf];
}

export class RpcFrequencyCapStore implements FrequencyCapStore {
  constructor(private readonly rpc: RpcChannel) {}
  record(
    userKey: string,
    lineItemId: string,
    caps: readonly FrequencyCap[],
    nowMs: number,
    lifetimeEndMs?: number | null,
  ): Promise<void> {
    return this.rpc.call<void>('caps.record', userKey, lineItemId, capsText(caps), nowMs, lifetimeEndMs);
  }
  async load(userKey: string, lineItems: readonly CappedLineItem[], nowMs: number): Promise<FrequencyCapView> {
    // Only what the store reads crosses (serving line items hold clocks and indexes), as strings.
    const [ids, sets, setOf] = capsLoadArgs(lineItems);
    const counts = await this.rpc.call<[string, number][]>('caps.load', userKey, ids, sets, setOf, nowMs);
    return new LoadedFrequencyCapView(new Map(counts));
  }
  async close(): Promise<void> {}
}

export class RpcBudgetLeaseStore implements BudgetLeaseStore {
  constructor(private readonly rpc: RpcChannel) {}
  reserve(lineItemId: string, day: string, wantMicros: number, budget: LeaseBudget, nowMs: number): Promise<Lease> {
    return this.rpc.call<Lease>('leases.reserve', lineItemId, day, wantMicros, budget, nowMs);
  }
  settle(lease: Lease, usedMicros: number, nowMs: number): Promise<number> {
    return this.rpc.call<number>('leases.settle', lease, usedMicros, nowMs);
  }
  recordSpend(lineItemId: string, campaignId: string, day: string, micros: number, nowMs: number): Promise<void> {
    return this.rpc.call<void>('leases.recordSpend', lineItemId, campaignId, day, micros, nowMs);
  }
  reconcile(input: ReconcileInput, nowMs: number): Promise<void> {
    return this.rpc.call<void>('leases.reconcile', input, nowMs);
  }
  status(lineItemId: string, campaignId: string, day: string, nowMs: number): Promise<BudgetStatus> {
    return this.rpc.call<BudgetStatus>('leases.status', lineItemId, campaignId, day, nowMs);
  }
  async close(): Promise<void> {}
}

/**
 * The primary's change feed. follow() reads on every "feed" push of the primary (its own follow fired),
 * with a poll every second as a safety net, like the store's feed.
 */
export class RpcChangeFeed implements ChangeFeed {
  private readonly wakers = new Set<() => void>();
  constructor(
    private readonly rpc: RpcChannel,
    private readonly pollMs = 1000,
  ) {
    rpc.onPush('feed', () => {
      for (const wake of this.wakers) wake();
    });
  }
  loadSnapshot(): Promise<Snapshot> {
    return this.rpc.call<Snapshot>('feed.loadSnapshot');
  }
  readSince(after: number, limit?: number): Promise<Change[]> {
    return this.rpc.call<Change[]>('feed.readSince', after, limit);
  }
  follow(after: number, onChanges: (changes: Change[]) => void | Promise<void>): () => Promise<void> {
    let cursor = after;
    let stopped = false;
    let again = false;
    let running: Promise<void> | undefined;
    const pump = async () => {
      do {
        again = false;
        for (;;) {
          const changes = await this.readSince(cursor, 1000).catch(() => [] as Change[]);
          if (stopped || changes.length === 0) break;
          await onChanges(changes);
          cursor = changes[changes.length - 1]!.seq;
        }
      } while (again && !stopped);
    };
    const wake = () => {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      running = pump().finally(() => {
        running = undefined;
      });
    };
    this.wakers.add(wake);
    const timer = setInterval(wake, this.pollMs);
    timer.unref();
    wake();
    return async () => {
      stopped = true;
      clearInterval(timer);
      this.wakers.delete(wake);
      await running;
    };
  }
}

/** Asset lookups (the serving snapshot resolves creatives' asset URLs); writes belong to the primary. */
/** The primary's report rows, for the pacing feeds of a worker (traffic curves, the reconcile). */
export class RpcRollupQuery implements Pick<RollupStore, 'query'> {
  constructor(private readonly rpc: RpcChannel) {}
  query(query: RollupQuery): Promise<RollupGroup[]> {
    return this.rpc.call('rollups.query', query);
  }
}

export class RpcAssetStore implements Pick<AssetStore, 'get'> {
  constructor(private readonly rpc: RpcChannel) {}
  get(id: string): ReturnType<AssetStore['get']> {
    return this.rpc.call('assets.get', id);
  }
}
