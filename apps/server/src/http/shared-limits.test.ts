/**
 * Two apps (two workers or servers) on one Redis share the per-IP API rate limit and the login lockout.
 * Apps built with createApp directly: the Redis key prefix is an app option, unique to this file.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, type Store } from '@marquee/store';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.ts';
import type { App } from '../deps.ts';
import { createFirstAdmin } from '../first-start.ts';
import { testConfig } from '../testing/test-app.ts';

const URL = process.env['MARQUEE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = `mqtest:${randomUUID()}:`;
const NOW = 1_800_000_000_000; // the login throttle's clock (injected); Redis expiry uses its own

describe('limits shared through Redis', () => {
  const admin = new Redis(URL);
  const dataDir = mkdtempSync(join(tmpdir(), 'marquee-test-'));
  let store: Store;
  let a: App;
  let b: App;

  beforeAll(async () => {
    store = await createStore({});
    await createFirstAdmin(store, 'owner@example.com', 'correct horse battery');
    const config = testConfig({
      dataDir,
      redisUrl: URL,
      rateLimitPerMinute: 4,
      loginMaxFailuresPerAccount: 3,
      loginWindowSeconds: 900,
    });
    const logger = pino({ level: 'silent' });
    const build = () => createApp({ config, store, logger }, { now: () => NOW, redisKeyPrefix: PREFIX });
    [a, b] = await Promise.all([build(), build()]);
    await Promise.all([a.ready(), b.ready()]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
    const keys = await admin.keys(`${PREFIX}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  it('counts one client IP across apps against one per-minute limit', async () => {
    const get = (app: App, ip: string) => app.inject({ method: 'GET', url: '/api/v1/auth/me', remoteAddress: ip });
    const statuses: number[] = [];
    for (const app of [a, b, a, b]) statuses.push((await get(app, '10.1.0.1')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401]);
    for (const app of [a, b]) {
      const res = await get(app, '10.1.0.1');
      expect(res.statusCode).toBe(429);
      expect(res.json().code).toBe('MQ_ERR_RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect((await get(b, '10.1.0.2')).statusCode).toBe(401);
    expect(await admin.exists(`${PREFIX}rl:10.1.0.1`)).toBe(1);
  });

  it('locks an account out on every app after failures spread over them', async () => {
    const login = (app: App, ip: string, password: string) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: ip,
        payload: { email: 'owner@example.com', password },
      });
    // One IP per attempt: the account's failures, not an IP's, lock it.
    expect((await login(a, '10.2.0.1', 'wrong one')).statusCode).toBe(401);
    expect((await login(b, '10.2.0.2', 'wrong two')).statusCode).toBe(401);
    expect((await login(a, '10.2.0.3', 'wrong three')).statusCode).toBe(401);
    const locked = await login(b, '10.2.0.4', 'correct horse battery');
    expect(locked.statusCode).toBe(429);
    expect(locked.json().message).toContain('failed sign-ins');
    expect(locked.headers['retry-after']).toBe('900');
    expect(await admin.llen(`${PREFIX}lt:a:owner%40example.com`)).toBe(3);
  });
});
