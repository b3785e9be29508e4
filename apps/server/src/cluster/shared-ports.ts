/**
 * The primary's side of the shared state: the ports a worker reaches over IPC (cluster/port-proxies.ts is
 * the other side). In embedded mode there is ONE event log (a single writer of its files), ONE deduplicator,
 * ONE set of frequency-cap counters and ONE budget lease store, all in the primary, so every worker sees the
 * same counts. The change feed and asset lookups come from the primary's store (PGlite has one owner).
 */

import type { FrequencyCap } from '@marquee/core';
import type { CappedLineItem, FrequencyCapStore } from '@marquee/counters';
import { viewKey } from '@marquee/counters';
import type { EncodedEvent, EventLog, LogPosition } from '@marquee/events';
import type { BudgetLeaseStore, Lease, LeaseBudget, ReconcileInput } from '@marquee/pacing';
import type { AssetStore, ChangeFeed, RollupQuery, RollupStore } from '@marquee/store';
import type { ClaimRequest, Deduplicator } from '../tracking/deduplicator.ts';
import { gatheredHandler, type RpcHandlers } from './rpc.ts';

/** The ports the primary shares; the ones a worker opens itself (Redis, NATS, PostgreSQL) are left out. */
export interface SharedPorts {
  readonly log?: EventLog;
  readonly dedup?: Deduplicator;
  readonly caps?: FrequencyCapStore;
  readonly leases?: BudgetLeaseStore;
  readonly feed?: ChangeFeed;
  readonly assets?: AssetStore;
  /** Report rows for the pacing feeds (traffic curves, the reconcile), read once a minute or less. */
  readonly rollups?: Pick<RollupStore, 'query'>;
  /** Advertisers out of funds (the billing gate's set), refreshed by the primary. */
  readonly stoppedAdvertisers?: () => readonly string[];
  /** Called with every batch a worker appended (the primary's attribution index learns them). */
  readonly onAppended?: (events: readonly EncodedEvent[]) => void;
}

export function sharedPortHandlers(ports: SharedPorts): RpcHandlers {
  const h: RpcHandlers = {};
  const { log, dedup, caps, leases, feed, assets } = ports;
  if (log) {
    const append = async (events: EncodedEvent[]) => {
      const result = await log.append(events);
      ports.onAppended?.(events);
      return result;
    };
    h['log.append'] = append;
    // A worker's appends of one tick, gathered (port-proxies.ts RpcEventLog): each answered on its own.
    h['log.appendEach'] = gatheredHandler(append);
    // Plain records: the file log builds a record's position lazily (a getter), which IPC would not copy.
    h['log.read'] = async (from: LogPosition, max: number) => {
      const { events, next } = await log.read(from, max);
      return { events: events.map((e) => ({ position: e.position, data: e.data })), next };
    };
    h['log.end'] = () => log.end();
  }
  if (dedup) {
    h['dedup.claim'] = (r: ClaimRequest) => dedup.claim(r);
    h['dedup.claimMany'] = (rs: ClaimRequest[]) => dedup.claimMany(rs);
    h['dedup.release'] = (key: string) => dedup.release(key);
  }
  if (caps) {
    // The caps arrive as JSON texts (port-proxies.ts capsText): parsed once per distinct text.
    const parsed = new Map<string, FrequencyCap[]>();
    const capsOf = (text: string): FrequencyCap[] => {
      let c = parsed.get(text);
      if (c === undefined) {
        if (parsed.size >= 10_000) parsed.clear();
        c = JSON.parse(text) as FrequencyCap[];
        parsed.set(text, c);
      }
      return c;
    };
    h['caps.record'] = (user: string, li: string, c: string, nowMs: number, end?: number | null) =>
      caps.record(user, li, capsOf(c), nowMs, end);
    // The view is a class: its counts cross as [viewKey, count] pairs.
    h['caps.load'] = async (user: string, ids: string[], sets: string[], setOf: number[], nowMs: number) => {
      const setCaps = sets.map(capsOf);
      const lineItems: CappedLineItem[] = new Array(ids.length);
      for (let i = 0; i < ids.length; i++) lineItems[i] = { id: ids[i]!, frequencyCaps: setCaps[setOf[i]!]! };
      const view = await caps.load(user, lineItems, nowMs);
      const counts: [string, number][] = [];
      for (const li of lineItems) {
        for (const cap of li.frequencyCaps) {
          const n = view.count(li.id, cap, nowMs);
          if (n > 0) counts.push([viewKey(li.id, cap), n]);
        }
      }
      return counts;
    };
  }
  if (leases) {
    h['leases.reserve'] = (li: string, day: string, want: number, budget: LeaseBudget, nowMs: number) =>
      leases.reserve(li, day, want, budget, nowMs);
    h['leases.settle'] = (lease: Lease, used: number, nowMs: number) => leases.settle(lease, used, nowMs);
    h['leases.recordSpend'] = (li: string, campaign: string, day: string, micros: number, nowMs: number) =>
      leases.recordSpend(li, campaign, day, micros, nowMs);
    h['leases.reconcile'] = (input: ReconcileInput, nowMs: number) => leases.reconcile(input, nowMs);
    h['leases.status'] = (li: string, campaign: string, day: string, nowMs: number) =>
      leases.status(li, campaign, day, nowMs);
  }
  if (feed) {
    h['feed.loadSnapshot'] = () => feed.loadSnapshot();
    h['feed.readSince'] = (after: number, limit?: number) => feed.readSince(after, limit);
  }
  if (assets) h['assets.get'] = (id: string) => assets.get(id);
  if (ports.rollups) {
    const rollups = ports.rollups;
    h['rollups.query'] = (query: RollupQuery) => rollups.query(query);
  }
  if (ports.stoppedAdvertisers) {
    const stopped = ports.stoppedAdvertisers;
    h['billing.stopped'] = () => [...stopped()];
  }
  return h;
}
