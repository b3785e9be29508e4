import { describe, expect, it } from 'vitest';
import { InMemoryLoginThrottle } from './login-throttle.ts';

function throttle(maxKeys?: number) {
  let now = 1_000_000;
  const t = new InMemoryLoginThrottle({
    maxFailuresPerAccount: 3,
    maxFailuresPerIp: 5,
    windowSeconds: 60,
    now: () => now,
    ...(maxKeys ? { maxKeys } : {}),
  });
  return { t, advance: (ms: number) => (now += ms) };
}

describe('InMemoryLoginThrottle', () => {
  it('blocks an account after its failures, until the oldest leaves the window', async () => {
    const { t, advance } = throttle();
    for (let i = 0; i < 3; i++) {
      expect(await t.retryAfterSeconds('a@x', '1.1.1.1')).toBe(0);
      await t.recordFailure('a@x', '1.1.1.1');
      advance(10_000);
    }
    // failures at 0 s, 10 s, 20 s; now 30 s: blocked until 60 s.
    expect(await t.retryAfterSeconds('a@x', '2.2.2.2')).toBe(30);
    expect(await t.retryAfterSeconds('b@x', '3.3.3.3')).toBe(0);
    advance(30_000);
    expect(await t.retryAfterSeconds('a@x', '2.2.2.2')).toBe(0);
  });

  it('blocks an IP across accounts', async () => {
    const { t } = throttle();
    for (let i = 0; i < 5; i++) await t.recordFailure(`user${i}@x`, '9.9.9.9');
    expect(await t.retryAfterSeconds('someone@x', '9.9.9.9')).toBe(60);
    expect(await t.retryAfterSeconds('someone@x', '8.8.8.8')).toBe(0);
  });

  it('clears the account (not the IP) on success', async () => {
    const { t } = throttle();
    for (let i = 0; i < 3; i++) await t.recordFailure('a@x', '1.1.1.1');
    await t.recordSuccess('a@x', '1.1.1.1');
    expect(await t.retryAfterSeconds('a@x', '4.4.4.4')).toBe(0);
    await t.recordFailure('a@x', '1.1.1.1');
    await t.recordFailure('b@x', '1.1.1.1');
    expect(await t.retryAfterSeconds('c@x', '1.1.1.1')).toBe(60);
  });

  it('forgets the least recently failing keys beyond maxKeys', async () => {
    const { t } = throttle(4);
    for (let i = 0; i < 3; i++) await t.recordFailure('old@x', '1.1.1.1');
    for (let i = 0; i < 10; i++) await t.recordFailure(`n${i}@x`, `2.2.2.${i}`);
    expect(await t.retryAfterSeconds('old@x', '7.7.7.7')).toBe(0);
  });
});
