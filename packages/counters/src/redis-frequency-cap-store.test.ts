import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runFrequencyCapStoreContract } from './frequency-cap-store.contract.ts';
import { RedisFrequencyCapStore } from './redis-frequency-cap-store.ts';

const URL = process.env.MARQUEE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// A unique prefix per test file run, removed afterwards: files and machines can share one Redis.
const PREFIX = `mqtest:${randomUUID()}:`;
const admin = new Redis(URL);

afterAll(async () => {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await admin.quit();
});

runFrequencyCapStoreContract('redis', async () => new RedisFrequencyCapStore({ url: URL, keyPrefix: PREFIX }));

describe('RedisFrequencyCapStore', () => {
  it('keeps one user in one cluster slot and gives every bucket an expiry', async () => {
    const store = new RedisFrequencyCapStore({ client: admin, keyPrefix: PREFIX });
    const now = Date.now(); // expiries are absolute instants Redis compares with its own clock
    await store.record(
      'slot-user',
      'li_9',
      [
        { count: 3, per: 'hour' },
        { count: 9, per: 'lifetime' },
      ],
      now,
      now + 86_400_000,
    );
    const keys = (await admin.keys(`${PREFIX}fc:{slot-user}:li_9:*`)).sort();
    expect(keys.map((k) => k.slice(PREFIX.length))).toEqual([
      `fc:{slot-user}:li_9:hour1:${Math.floor(now / 3_600_000)}`,
      'fc:{slot-user}:li_9:life',
    ]);
    for (const k of keys) {
      const ttl = await admin.pttl(k);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(86_400_000 + 60_000);
    }
    await store.close(); // a shared client stays open
    expect(admin.status).toBe('ready');
  });
});
