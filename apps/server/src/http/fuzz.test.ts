/** Malformed and random input never produces a 5xx: every answer is a 2xx/4xx with our error shape. */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const TARGETS: Array<{ method: 'POST' | 'PUT' | 'PATCH'; url: string }> = [
  { method: 'POST', url: '/api/v1/auth/login' },
  { method: 'POST', url: '/api/v1/users' },
  { method: 'PATCH', url: '/api/v1/users/usr_0000000000aaaaaaaaaaaaaaaa' },
  { method: 'PUT', url: '/api/v1/network' },
  { method: 'POST', url: '/api/v1/api-keys' },
];

describe('fuzzing the JSON endpoints', () => {
  it('random JSON bodies get 2xx/4xx, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TARGETS), fc.jsonValue({ maxDepth: 3 }), async (target, body) => {
        const res = await t.app.inject({
          method: target.method,
          url: target.url,
          headers: { ...t.admin.headers, 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        expect(res.statusCode).toBeLessThan(500);
        if (res.statusCode >= 400) expect(res.json()).toHaveProperty('code');
      }),
      { numRuns: 150 },
    );
  });

  it('random bytes, paths and query strings get 4xx, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...TARGETS),
        fc.string({ maxLength: 200 }),
        fc.string({ maxLength: 60 }),
        async (target, raw, query) => {
          const res = await t.app.inject({
            method: target.method,
            url: `${target.url}?${encodeURIComponent(query)}=${encodeURIComponent(raw)}`,
            headers: { ...t.admin.headers, 'content-type': 'application/json' },
            payload: raw,
          });
          expect(res.statusCode).toBeLessThan(500);
          const get = await t.app.inject({
            method: 'GET',
            url: `/api/v1/users?limit=${encodeURIComponent(raw)}&cursor=${encodeURIComponent(query || 'x')}`,
            headers: t.admin.headers,
          });
          expect(get.statusCode).toBeLessThan(500);
          const path = await t.app.inject({
            method: 'GET',
            url: `/api/v1/users/${encodeURIComponent(raw || 'x')}`,
            headers: t.admin.headers,
          });
          expect(path.statusCode).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
  });
});
