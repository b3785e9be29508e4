import type { FrequencyCap } from '@marquee/core';
import type { FrequencyCapView } from '@marquee/decision';
import {
  type CappedLineItem,
  capBucket,
  type FrequencyCapStore,
  LoadedFrequencyCapView,
  viewKey,
} from './frequency-cap-store.ts';

/**
 * Counters in a Map: the embedded topology (one process). Expired buckets are dropped when read
 * and swept every `sweepEvery` records, so memory follows the active users, not all users ever.
 */
export class InMemoryFrequencyCapStore implements FrequencyCapStore {
  private readonly counters = new Map<string, { n: number; expiresAtMs: number }>();
  private records = 0;

  constructor(private readonly sweepEvery = 10_000) {}

  async record(
    userKey: string,
    lineItemId: string,
    caps: readonly FrequencyCap[],
    nowMs: number,
    lifetimeEndMs?: number | null,
  ): Promise<void> {
    for (const cap of caps) {
      const b = capBucket(cap, nowMs, lifetimeEndMs);
      const key = `${userKey}\u0000${lineItemId}\u0000${b.suffix}`;
      const c = this.counters.get(key);
      if (c && c.expiresAtMs > nowMs) c.n++;
      else this.counters.set(key, { n: 1, expiresAtMs: b.expiresAtMs });
    }
    if (++this.records % this.sweepEvery === 0) this.sweep(nowMs);
  }

  async load(userKey: string, lineItems: readonly CappedLineItem[], nowMs: number): Promise<FrequencyCapView> {
    const counts = new Map<string, number>();
    for (const li of lineItems) {
      for (const cap of li.frequencyCaps) {
        const c = this.counters.get(`${userKey}\u0000${li.id}\u0000${capBucket(cap, nowMs).suffix}`);
        if (c && c.expiresAtMs > nowMs) counts.set(viewKey(li.id, cap), c.n);
      }
    }
    return new LoadedFrequencyCapView(counts);
  }

  /** How many counters are held (for tests and metrics). */
  get size(): number {
    return this.counters.size;
  }

  sweep(nowMs: number): void {
    for (const [k, c] of this.counters) if (c.expiresAtMs <= nowMs) this.counters.delete(k);
  }

  async close(): Promise<void> {
    this.counters.clear();
  }
}
