import type { ClaimRequest, Deduplicator } from './deduplicator.ts';

interface Entry {
  count: number;
  expiresAtMs: number;
}

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
  private readonly entries = new Map<string, Entry>();
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
    if (!e) return;
    e.count--;
    if (e.count <= 0) this.entries.delete(key);
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private claimAt(r: ClaimRequest, nowMs: number): boolean {
    if (nowMs >= this.nextSweepMs) this.sweep(nowMs);
    const e = this.entries.get(r.key);
    if (e === undefined || e.expiresAtMs <= nowMs) {
      if (e) this.entries.delete(r.key); // re-insert at the end: keeps insertion order close to expiry order
      if (r.expiresAtMs <= nowMs) return r.limit > 0;
      this.entries.set(r.key, { count: 1, expiresAtMs: r.expiresAtMs });
      return r.limit > 0;
    }
    if (e.count >= r.limit) return false;
    e.count++;
    return true;
  }

  private sweep(nowMs: number): void {
    this.nextSweepMs = nowMs + this.sweepEveryMs;
    for (const [key, e] of this.entries) {
      if (e.expiresAtMs > nowMs) break;
      this.entries.delete(key);
    }
  }
}
