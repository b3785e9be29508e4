import { describe, expect, it } from 'vitest';
import { describeDeduplicatorContract } from './deduplicator.contract.ts';
import { InMemoryDeduplicator } from './in-memory-deduplicator.ts';

const T0 = Date.UTC(2025, 0, 1);
describeDeduplicatorContract('in memory', async () => ({
  dedup: new InMemoryDeduplicator({ now: () => T0 }),
  nowMs: T0,
}));

describe('InMemoryDeduplicator expiry', () => {
  it('forgets a key when it expires, and sweeps expired keys', () => {
    let now = T0;
    const dedup = new InMemoryDeduplicator({ now: () => now, sweepEveryMs: 1000 });
    for (let i = 0; i < 100; i++) dedup.claim({ key: `k${i}`, limit: 1, expiresAtMs: T0 + 60_000 + i });
    expect(dedup.claim({ key: 'k1', limit: 1, expiresAtMs: T0 + 60_001 })).toBe(false);
    expect(dedup.size).toBe(100);
    now = T0 + 60_050;
    // k60..k99 are alive; the sweep drops the 50 expired ones, and an expired key is a new key again.
    expect(dedup.claim({ key: 'k1', limit: 1, expiresAtMs: now + 60_000 })).toBe(true);
    expect(dedup.size).toBe(50);
    expect(dedup.claim({ key: 'k99', limit: 1, expiresAtMs: T0 + 60_099 })).toBe(false);
  });
});
