import type { ClaimRequest, Deduplicator } from './deduplicator.ts';

/** A key claimed more than once (clicks): its count and expiry. */
interface Entry {
  count: number;
  expiresAtMs: number;
}

/**
 * A key's state: its expiry alone when it was claimed once (almost every key: impressions and views have a limit
 * of 1), an Entry from the second claim on. Performance: one number instead of an object per key, on a map that
 * holds every key of the last token TTL (millions under batch ingestion).
 */
type State = number | Entry;

const expiryOf = (s: State): number => (typeof s === 'number' ? s : s.expiresAtMs);

export interface InMemoryDeduplicatorOptions {
  readonly now?: () => number;
  /** Expired keys are swept at most this often, on a claim (default 10 s). */
  readonly sweepEveryMs?: number;
}

/**
 * Keys in one Map. Expired entries are dropped by a sweep from the oldest insertion: keys are inserted
 * roughly in expiry order (the expiry is the token's, issued shortly before the event), so the sweep stops
 * at the first live entry and costs only what it removes. An entry inserted out of order lives at most one
 * token TTL longer than it should; memory stays bounded by about two TTLs of traffic.
 */
export class InMemoryDeduplicator implements Deduplicator {
  private readonly entries = new Map<string, State>();
  private readonly now: () => number;
  private readonly sweepEveryMs: number;
  private nextSweepMs = 0;

  constructor(options: InMemoryDeduplicatorOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sweepEveryMs = options.sweepEveryMs ?? 10_000;
  }

  get size(): number {
    return this.entries.size;
  }

  claim(request: ClaimRequest): boolean {
    return this.claimAt(request, this.now());
  }

  claimMany(requests: readonly ClaimRequest[]): boolean[] {
    const nowMs = this.now();
    const out = new Array<boolean>(requests.length);
    for (let i = 0; i < requests.length; i++) out[i] = this.claimAt(requests[i]!, nowMs);
    return out;
  }

  release(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    if (typeof e === 'number' || e.count <= 1) this.entries.delete(key);
    else e.count--;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private claimAt(r: ClaimRequest, nowMs: number): boolean {
    if (nowMs >= this.nextSweepMs) this.sweep(nowMs);
    const e = this.entries.get(r.key);
    if (e === undefined || expiryOf(e) <= nowMs) {
      if (e !== undefined) this.entries.delete(r.key); // re-insert at the end: keeps insertion order close to expiry order
      if (r.expiresAtMs <= nowMs) return r.limit > 0;
      this.entries.set(r.key, r.expiresAtMs);
      return r.limit > 0;
    }
    const count = typeof e === 'number' ? 1 : e.count;
    if (count >= r.limit) return false;
    if (typeof e === 'number') this.entries.set(r.key, { count: 2, expiresAtMs: e });
    else e.count++;
    return true;
  }

  private sweep(nowMs: number): void {
    this.nextSweepMs = nowMs + this.sweepEveryMs;
    for (const [key, e] of this.entries) {
      if (expiryOf(e) > nowMs) break;
      this.entries.delete(key);
    }
  }
}
