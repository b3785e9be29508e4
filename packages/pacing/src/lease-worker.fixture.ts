/**
 * A worker process for the crash test (redis-lease-workers.test.ts): hammers one budget through a
 * RedisBudgetLeaseStore. Every serve is first appended to the "event log" (a Redis counter), then
 * debited locally; each lease is settled with what it used and the spend reported, as tracking would.
 * The clock is logical and shared (a Redis counter), so leases expire without anyone waiting.
 *
 *   node --import tsx lease-worker.fixture.ts <redisUrl> <prefix> <budgetMicros> <wantMicros> [die]
 * With "die" it prints MIDLEASE once half a lease is spent and hangs, to be SIGKILLed.
 */
import { Redis } from 'ioredis';
import { RedisBudgetLeaseStore } from './redis-budget-lease-store.ts';

const [url, prefix, budgetArg, wantArg, die] = process.argv.slice(2) as [string, string, string, string, string?];
const COST = 5_000;
const DAY = '2030-01-01';
const redis = new Redis(url);
const store = new RedisBudgetLeaseStore({ client: redis, keyPrefix: prefix, leaseTtlMs: 30_000, holdMs: 120_000 });
const budget = {
  campaignId: 'cmp_crash',
  lineItemDailyMicros: Number(budgetArg),
  lineItemLifetimeMicros: null,
  campaignDailyMicros: null,
  campaignLifetimeMicros: null,
};
const clock = async (advance: number) => Number(await redis.incrby(`${prefix}clock`, advance));

let refused = 0;
while (refused <= 200) {
  const lease = await store.reserve('li_crash', DAY, Number(wantArg), budget, await clock(50));
  if (lease.grantedMicros === 0) {
    refused++;
    await clock(1000); // holds expire as time goes on: try again a (logical) second later
    continue;
  }
  let used = 0;
  while (used + COST <= lease.grantedMicros) {
    await redis.incrby(`${prefix}log`, COST); // durable first, as tracking does
    used += COST;
    if (die && used * 2 >= lease.grantedMicros) {
      process.stdout.write(`MIDLEASE ${lease.grantedMicros} ${used}\n`);
      await new Promise(() => {}); // hang until killed
    }
  }
  const now = await clock(50);
  await store.recordSpend('li_crash', 'cmp_crash', DAY, used, now);
  await store.settle(lease, used, now);
}
process.stdout.write('DONE\n');
await redis.quit();
