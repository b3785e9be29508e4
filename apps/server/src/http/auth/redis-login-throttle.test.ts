import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runLoginThrottleContract } from './login-throttle.contract.ts';
import { RedisLoginThrottle } from './redis-login-throttle.ts';

const URL = process.env['MARQUEE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
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

// Each throttle gets keys of its own under the file's prefix: a fresh throttle has no failures.
let n = 0;
runLoginThrottleContract(
  'redis',
  (options) => new RedisLoginThrottle({ ...options, client: admin, keyPrefix: `${PREFIX}${++n}:` }),
);

describe('RedisLoginThrottle', () => {
  const options = { maxFailuresPerAccount: 3, maxFailuresPerIp: 5, windowSeconds: 60 };

  it('counts the failures of two workers together', async () => {
    let now = 5_000_000;
    const keyPrefix = `${PREFIX}workers:`;
    // Two throttles with their own connections, as in two processes.
    const a = new RedisLoginThrottle({ ...options, url: URL, keyPrefix, now: () => now });
    const b = new RedisLoginThrottle({ ...options, url: URL, keyPrefix, now: () => now });
    try {
      await a.recordFailure('w@x', '1.1.1.1');
      now += 1000;
      await b.recordFailure('w@x', '2.2.2.2');
      expect(await a.retryAfterSeconds('w@x', '3.3.3.3')).toBe(0);
      now += 1000;
      await a.recordFailure('w@x', '3.3.3.3');
      // Failures at 0, 1 and 2 s from two workers: both answer "until 60 s".
      expect(await a.retryAfterSeconds('w@x', '4.4.4.4')).toBe(58);
      expect(await b.retryAfterSeconds('w@x', '4.4.4.4')).toBe(58);
      // A success on one worker clears the account for both.
      await b.recordSuccess('w@x', '2.2.2.2');
      expect(await a.retryAfterSeconds('w@x', '4.4.4.4')).toBe(0);

      // Concurrent failures on an IP from both workers: none is lost.
      await Promise.all([1, 2, 3, 4, 5].map((i) => (i % 2 ? a : b).recordFailure(`u${i}@x`, '9.9.9.9')));
      expect(await b.retryAfterSeconds('anyone@x', '9.9.9.9')).toBe(60);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps only the failures that count, and lets every key expire a window after its last failure', async () => {
    const keyPrefix = `${PREFIX}keys:`;
    // Real clock here: Redis expires keys by its own clock.
    const t = new RedisLoginThrottle({ ...options, client: admin, keyPrefix });
    for (let i = 0; i < 8; i++) await t.recordFailure('k@x', '1.2.3.4');
    expect(await admin.llen(`${keyPrefix}a:k%40x`)).toBe(3);
    expect(await admin.llen(`${keyPrefix}i:1.2.3.4`)).toBe(5);
    for (const key of [`${keyPrefix}a:k%40x`, `${keyPrefix}i:1.2.3.4`]) {
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    await t.close(); // a shared client stays open
    expect(admin.status).toBe('ready');
  });
});
