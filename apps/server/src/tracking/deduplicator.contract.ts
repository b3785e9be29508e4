import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deduplicator } from './deduplicator.ts';

/** The behaviour every Deduplicator must have; run by in-memory-deduplicator.test.ts and redis-deduplicator.test.ts. */
export function describeDeduplicatorContract(
  name: string,
  make: () => Promise<{ dedup: Deduplicator; nowMs: number }>,
): void {
  describe(`Deduplicator contract: ${name}`, () => {
    let dedup: Deduplicator;
    let nowMs: number;
    beforeAll(async () => {
      ({ dedup, nowMs } = await make());
    });
    afterAll(async () => {
      await dedup.close();
    });
    const key = (label: string) => `${label}:${randomBytes(6).toString('hex')}`;
    const hourLater = () => nowMs + 3_600_000;

    it('accepts a key once when the limit is 1, then refuses it', async () => {
      const k = key('impression');
      expect(await dedup.claim({ key: k, limit: 1, expiresAtMs: hourLater() })).toBe(true);
      expect(await dedup.claim({ key: k, limit: 1, expiresAtMs: hourLater() })).toBe(false);
      expect(await dedup.claim({ key: k, limit: 1, expiresAtMs: hourLater() })).toBe(false);
    });

    it('accepts up to the limit', async () => {
      const k = key('click');
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await dedup.claim({ key: k, limit: 3, expiresAtMs: hourLater() }));
      expect(results).toEqual([true, true, true, false, false]);
    });

    it('keeps keys apart', async () => {
      const a = key('a');
      const b = key('b');
      expect(await dedup.claim({ key: a, limit: 1, expiresAtMs: hourLater() })).toBe(true);
      expect(await dedup.claim({ key: b, limit: 1, expiresAtMs: hourLater() })).toBe(true);
    });

    it('claims a batch in order, counting repeats inside the batch', async () => {
      const a = key('a');
      const b = key('b');
      const c = key('c');
      const exp = hourLater();
      const results = await dedup.claimMany([
        { key: a, limit: 1, expiresAtMs: exp },
        { key: b, limit: 2, expiresAtMs: exp },
        { key: a, limit: 1, expiresAtMs: exp },
        { key: b, limit: 2, expiresAtMs: exp },
        { key: b, limit: 2, expiresAtMs: exp },
        { key: c, limit: 1, expiresAtMs: exp },
      ]);
      expect(results).toEqual([true, true, false, true, false, true]);
      expect(await dedup.claimMany([])).toEqual([]);
    });

    it('release gives an occurrence back (the event could not be stored)', async () => {
      const k = key('impression');
      expect(await dedup.claim({ key: k, limit: 1, expiresAtMs: hourLater() })).toBe(true);
      await dedup.release(k);
      expect(await dedup.claim({ key: k, limit: 1, expiresAtMs: hourLater() })).toBe(true);
      expect(await dedup.claim({ key: k, limit: 1, expiresAtMs: hourLater() })).toBe(false);
      const c = key('click');
      expect(await dedup.claim({ key: c, limit: 2, expiresAtMs: hourLater() })).toBe(true);
      expect(await dedup.claim({ key: c, limit: 2, expiresAtMs: hourLater() })).toBe(true);
      await dedup.release(c);
      expect(await dedup.claim({ key: c, limit: 2, expiresAtMs: hourLater() })).toBe(true);
      expect(await dedup.claim({ key: c, limit: 2, expiresAtMs: hourLater() })).toBe(false);
    });

    it('refuses 2,000 concurrent claims of one key but one', async () => {
      const k = key('race');
      const results = await Promise.all(
        Array.from({ length: 2000 }, () => dedup.claim({ key: k, limit: 1, expiresAtMs: hourLater() })),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}
