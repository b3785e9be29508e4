import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes } from '../app.ts';
import { createTestApp, type TestApp } from '../testing/test-app.ts';
import { ERRORS } from './errors.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

/**
 * Routes that are deliberately not in the API document: Prometheus text, the docs themselves, CORS preflight,
 * and public asset files (static bytes for ads, not an API).
 */
const INTERNAL = [
  /^\/metrics$/,
  /^\/api\/docs(\/.*)?$/,
  /^\/api\/openapi\.json$/,
  /^\*$/,
  /^\/assets\//,
  // the dashboard: index.html for client routes, its hashed files
  /^\/$/,
  /^\/\*$/,
  /^\/ui\//,
];

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { summary?: string; tags?: string[]; responses?: Record<string, unknown> }>>;
  components: { securitySchemes: Record<string, unknown>; schemas?: Record<string, unknown> };
}

describe('OpenAPI', () => {
  it('serves an OpenAPI 3.1 document and the docs page', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as OpenApiDoc;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['session', 'apiKey']);
    const page = await t.app.inject({ method: 'GET', url: '/api/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    // the docs page may run its own scripts (hashes), unlike the API's default-src 'none'
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });

  it('documents every registered route, each with a summary, tags and the error schema', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as OpenApiDoc;
    const routes = registeredRoutes(t.app).filter(
      (r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && !INTERNAL.some((re) => re.test(r.url)),
    );
    expect(routes.length).toBeGreaterThan(15);
    const missing: string[] = [];
    for (const route of routes) {
      const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const op = doc.paths[path]?.[route.method.toLowerCase()];
      if (!op) {
        missing.push(`${route.method} ${route.url}`);
        continue;
      }
      expect(op.summary, `${route.method} ${route.url} summary`).toBeTruthy();
      expect(op.tags?.length, `${route.method} ${route.url} tags`).toBeGreaterThan(0);
      expect(op.responses?.['4XX'] ?? op.responses?.['4xx'], `${route.method} ${route.url} 4xx`).toBeDefined();
    }
    expect(missing).toEqual([]);
  });

  it('includes the shared targeting schema as a component', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as OpenApiDoc;
    expect(JSON.stringify(doc)).toContain('TargetingNode');
  });
});

describe('error catalogue', () => {
  it('documents every error code in docs/api/errors.md', () => {
    const doc = readFileSync(new URL('../../../../docs/api/errors.md', import.meta.url), 'utf8');
    for (const [code, { status }] of Object.entries(ERRORS)) {
      expect(doc, code).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`));
    }
  });
});
