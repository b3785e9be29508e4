import { randomBytes } from 'node:crypto';
import { describeDeduplicatorContract } from './deduplicator.contract.ts';
import { RedisDeduplicator } from './redis-deduplicator.ts';

const url = process.env['MARQUEE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
// Keys of this file only, expiring within the hour even if a run is interrupted.
describeDeduplicatorContract('Redis', async () => ({
  dedup: new RedisDeduplicator({ url, prefix: `mqtest:dd:${randomBytes(4).toString('hex')}:` }),
  nowMs: Date.now(),
}));
