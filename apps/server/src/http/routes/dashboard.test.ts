import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App, AppDeps } from '../../deps.ts';
import { registerErrorHandlers } from '../error-handler.ts';
import { createRouteIndex } from '../route-index.ts';
import { createDashboardRoutes, DASHBOARD_CSP, isDashboardPath } from './dashboard.ts';

// The module on its own app with a fixture build, beside the real error handler and route index.
let app: App;
let dist: string;
const INDEX = '<!doctype html><div id="root"></div><script type="module" src="/ui/index-abc123.js"></script>';

beforeAll(async () => {
  dist = mkdtempSync(join(tmpdir(), 'marquee-dashboard-'));
  mkdirSync(join(dist, 'ui'));
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'ui', 'index-abc123.js'), 'console.log(1)');
  app = Fastify() as unknown as App;
  const index = createRouteIndex();
  app.addHook('onRoute', (route) => index.add(route.method as string | string[], route.url));
  registerErrorHandlers(app, index);
  app.post('/api/v1/things', async () => ({ ok: true }));
  await app.register(async (scope) => createDashboardRoutes({ distDir: dist })(scope as App, {} as AppDeps));
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  rmSync(dist, { recursive: true, force: true });
});

describe('dashboard routes', () => {
  it('serves index.html at / and at client-side routes, uncached, with a CSP that forbids inline script', async () => {
    for (const url of ['/', '/line-items/li_01abc', '/admin/users?x=1', '/reports']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toBe(INDEX);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    }
    expect(DASHBOARD_CSP).toContain("script-src 'self';");
    expect(DASHBOARD_CSP).not.toMatch(/script-src[^;]*unsafe-inline/);
  });

  it('serves hashed files as immutable', async () => {
    const res = await app.inject({ method: 'GET', url: '/ui/index-abc123.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toContain('immutable');
    expect(res.headers['cache-control']).toContain('max-age=31536000');
    expect(res.headers['content-type']).toContain('javascript');
    expect((await app.inject({ method: 'GET', url: '/ui/missing.js' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/ui/../index.html' })).statusCode).not.toBe(200);
  });

  it("leaves the server's paths alone: JSON 404 for unknown API, serving and tracking paths and missing files", async () => {
    for (const url of [
      '/api/v1/nothing',
      '/api',
      '/v1/nope',
      '/t/click/x',
      '/assets/nope',
      '/metrics/x',
      '/favicon.ico',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().code, url).toBe('MQ_ERR_NOT_FOUND');
    }
  });

  it('keeps 404 (not 405) for other methods on unknown paths, and 405 where a route exists', async () => {
    expect((await app.inject({ method: 'POST', url: '/somewhere' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/things' })).statusCode).toBe(405);
  });

  it('answers 503 with instructions when the dashboard is not built', async () => {
    const bare = Fastify() as unknown as App;
    await bare.register(async (s) => createDashboardRoutes({ distDir: join(dist, 'absent') })(s as App, {} as AppDeps));
    const res = await bare.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build -w @marquee/dashboard');
    await bare.close();
  });

  it('tells dashboard paths from server paths', () => {
    expect(isDashboardPath('/campaigns/cmp_1')).toBe(true);
    expect(isDashboardPath('/demo')).toBe(false);
    expect(isDashboardPath('/marquee.js')).toBe(false);
    expect(isDashboardPath('/healthz')).toBe(true);
    expect(isDashboardPath('/health')).toBe(false);
  });
});
