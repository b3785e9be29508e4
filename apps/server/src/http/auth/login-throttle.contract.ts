/**
 * The contract every LoginThrottle passes: run by the in-memory and the Redis test files, so the two cannot
 * drift. `create` gets the options (with a fake clock) and returns a throttle with no failures recorded.
 */
import { describe, expect, it } from 'vitest';
import type { LoginThrottle, LoginThrottleOptions } from './login-throttle.ts';

export type CreateLoginThrottle = (options: LoginThrottleOptions) => LoginThrottle | Promise<LoginThrottle>;

export function runLoginThrottleContract(name: string, create: CreateLoginThrottle): void {
  async function throttle() {
    let now = 1_000_000;
    const t = await create({ maxFailuresPerAccount: 3, maxFailuresPerIp: 5, windowSeconds: 60, now: () => now });
    return { t, advance: (ms: number) => (now += ms) };
  }

  describe(`LoginThrottle contract: ${name}`, () => {
    it('blocks an account after its failures, until the oldest leaves the window', async () => {
      const { t, advance } = await throttle();
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

    it('slides: the oldest failure that still counts decides, not the first of a fixed window', async () => {
      const { t, advance } = await throttle();
      // failures at 0 s, 50 s, 70 s, 75 s: the one at 0 s has left the window; 50, 70 and 75 s block until 110 s.
      for (const step of [0, 50_000, 20_000, 5_000]) {
        advance(step);
        await t.recordFailure('s@x', '5.5.5.5');
      }
      expect(await t.retryAfterSeconds('s@x', '6.6.6.6')).toBe(35);
      advance(34_001);
      expect(await t.retryAfterSeconds('s@x', '6.6.6.6')).toBe(1);
      advance(999);
      expect(await t.retryAfterSeconds('s@x', '6.6.6.6')).toBe(0);
    });

    it('blocks an IP across accounts', async () => {
      const { t } = await throttle();
      for (let i = 0; i < 5; i++) await t.recordFailure(`user${i}@x`, '9.9.9.9');
      expect(await t.retryAfterSeconds('someone@x', '9.9.9.9')).toBe(60);
      expect(await t.retryAfterSeconds('someone@x', '8.8.8.8')).toBe(0);
    });

    it('clears the account (not the IP) on success', async () => {
      const { t } = await throttle();
      for (let i = 0; i < 3; i++) await t.recordFailure('a@x', '1.1.1.1');
      await t.recordSuccess('a@x', '1.1.1.1');
      expect(await t.retryAfterSeconds('a@x', '4.4.4.4')).toBe(0);
      await t.recordFailure('a@x', '1.1.1.1');
      await t.recordFailure('b@x', '1.1.1.1');
      expect(await t.retryAfterSeconds('c@x', '1.1.1.1')).toBe(60);
    });
  });
}
