import { describe, expect, it } from 'vitest';
import { runLoginThrottleContract } from './login-throttle.contract.ts';
import { InMemoryLoginThrottle } from './login-throttle.ts';

runLoginThrottleContract('in memory', (options) => new InMemoryLoginThrottle(options));

describe('InMemoryLoginThrottle', () => {
  it('forgets the least recently failing keys beyond maxKeys', async () => {
    const t = new InMemoryLoginThrottle({
      maxFailuresPerAccount: 3,
      maxFailuresPerIp: 5,
      windowSeconds: 60,
      now: () => 1_000_000,
      maxKeys: 4,
    });
    for (let i = 0; i < 3; i++) await t.recordFailure('old@x', '1.1.1.1');
    for (let i = 0; i < 10; i++) await t.recordFailure(`n${i}@x`, `2.2.2.${i}`);
    expect(await t.retryAfterSeconds('old@x', '7.7.7.7')).toBe(0);
  });
});
