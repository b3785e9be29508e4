import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runBudgetLeaseStoreContract, T0 } from './budget-lease-store.contract.ts';
import { RedisBudgetLeaseStore } from './redis-budget-lease-store.ts';

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

const open = () => new RedisBudgetLeaseStore({ url: URL, keyPrefix: PREFIX, leaseTtlMs: 30_000, holdMs: 120_000 });
runBudgetLeaseStoreContract('redis', {
  create: async () => open(),
  // Another worker: its own connection to the same keys.
  client: async () => open(),
});

describe('RedisBudgetLeaseStore', () => {
  it('keeps a campaign in one cluster slot and lets its day keys expire', async () => {
    const store = new RedisBudgetLeaseStore({ client: admin, keyPrefix: PREFIX });
    const budget = {
      campaignId: 'cmp{odd}',
      lineItemDailyMicros: 10,
      lineItemLifetimeMicros: null,
      campaignDailyMicros: null,
      campaignLifetimeMicros: null,
    };
    await store.reserve('li_slot', '2030-02-03', 5, budget, T0);
    const keys = (await admin.keys(`${PREFIX}bl:*`)).filter((k) => k.includes('cmp%7Bodd%7D')).sort();
    expect(keys.map((k) => k.slice(PREFIX.length))).toEqual([
      'bl:{cmp%7Bodd%7D}:d:2030-02-03',
      'bl:{cmp%7Bodd%7D}:life',
      'bl:{cmp%7Bodd%7D}:r',
      'bl:{cmp%7Bodd%7D}:x',
    ]);
    expect(await admin.pttl(`${PREFIX}bl:{cmp%7Bodd%7D}:d:2030-02-03`)).toBeGreaterThan(0);
    await store.close(); // a shared client stays open
    expect(admin.status).toBe('ready');
  });

  it('keeps amounts past 2^31 and 1e15 exact through Lua', async () => {
    const store = open();
    const big = 4_000_000_000_000_123; // 4 billion units of currency and 123 micros
    const budget = {
      campaignId: `cmp_big_${randomUUID()}`,
      lineItemDailyMicros: big,
      lineItemLifetimeMicros: null,
      campaignDailyMicros: null,
      campaignLifetimeMicros: null,
    };
    const lease = await store.reserve('li_big', '2030-02-03', big - 23, budget, T0);
    expect(lease.grantedMicros).toBe(big - 23);
    expect(await store.settle(lease, big - 1023, T0)).toBe(1000);
    const s = await store.status('li_big', budget.campaignId, '2030-02-03', T0);
    expect(s.lineItemDay).toMatchObject({ limitMicros: big, reservedMicros: big - 1023, availableMicros: 1023 });
    await store.close();
  });
});
