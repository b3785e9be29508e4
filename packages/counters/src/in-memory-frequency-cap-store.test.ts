import { describe, expect, it } from 'vitest';
import { runFrequencyCapStoreContract } from './frequency-cap-store.contract.ts';
import { InMemoryFrequencyCapStore } from './in-memory-frequency-cap-store.ts';

runFrequencyCapStoreContract('in memory', async () => new InMemoryFrequencyCapStore());

describe('InMemoryFrequencyCapStore', () => {
  it('sweeps expired buckets so memory follows active users', async () => {
    const store = new InMemoryFrequencyCapStore(100);
    const t0 = Date.parse('2026-03-02T10:00:00Z');
    for (let i = 0; i < 99; i++) await store.record(`u${i}`, 'li_1', [{ count: 1, per: 'minute' }], t0);
    expect(store.size).toBe(99);
    // The 100th record, two minutes later, triggers a sweep of the expired minute buckets.
    await store.record('u-late', 'li_1', [{ count: 1, per: 'minute' }], t0 + 3 * 60_000);
    expect(store.size).toBe(1);
  });
});
