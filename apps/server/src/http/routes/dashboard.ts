/**
 * The dashboard (apps/dashboard, built by Vite) served from the same origin as the API, so the session cookie
 * and CSRF header need no CORS. Hashed files under /ui/ are immutable; index.html is never cached and answers
 * every client-side route (SPA fallback) except the server's own paths, which keep their JSON 404s.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteModule } from '../../deps.ts';
import { MarqueeError } from '../errors.ts';

export const DEFAULT_DASHBOARD_DIST = fileURLToPath(new URL('../../../../dashboard/dist/', import.meta.url));

/** Paths that belong to the server: never answered with the dashboard's index.html. */
export const NOT_DASHBOARD = [
  '/api',
  '/v1',
  '/t',
  '/assets',
  '/ui',
  '/health',
  '/ready',
  '/metrics',
  '/demo',
  '/marquee.js',
];

/**
 * The dashboard's policy: its own scripts only (no inline script, no eval); inline styles are allowed because
 * ECharts writes tooltip markup with style attributes; creative previews are srcdoc iframes (sandboxed, no
 * same-origin), images may come from any https ad server, as in the creatives.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: https:",
  "media-src 'self' blob: https:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self' blob: data: https:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function isDashboardPath(path: string): boolean {
  if (NOT_DASHBOARD.some((p) => path === p || path.startsWith(`${p}/`))) return false;
  // A missing file (favicon.ico, robots.txt) is a 404, not the app.
  const last = path.slice(path.lastIndexOf('/') + 1);
  return !last.includes('.');
}

export interface DashboardOptions {
  /** The Vite build output (index.html and ui/); default apps/dashboard/dist. */
  readonly distDir?: string;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Marquee</title>
<p>The dashboard is not built. Run <code>npm run build -w @marquee/dashboard</code> (npm start does it for you).</p>`;

export function createDashboardRoutes(options: DashboardOptions = {}): RouteModule {
  const dist = options.distDir ?? DEFAULT_DASHBOARD_DIST;
  return async (app) => {
    await app.register(fastifyStatic, {
      root: join(dist, 'ui'),
      prefix: '/ui/',
      index: false,
      // File names carry a content hash: a changed file is a new URL, so caches may keep these for good.
      immutable: true,
      maxAge: '365d',
      schemaHide: true,
    });

    const sendIndex = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const path = request.url.split('?')[0] ?? '/';
      if (!isDashboardPath(path)) throw new MarqueeError('MQ_ERR_NOT_FOUND', `No route GET ${path.slice(0, 200)}`);
      let html: string;
      let status = 200;
      try {
        html = await readFile(join(dist, 'index.html'), 'utf8');
      } catch {
        html = NOT_BUILT;
        status = 503;
      }
      return reply
        .code(status)
        .header('cache-control', 'no-cache')
        .header('content-security-policy', DASHBOARD_CSP)
        .type('text/html; charset=utf-8')
        .send(html);
    };
    const schema = { hide: true, summary: 'The dashboard (single-page app)', tags: ['dashboard'] };
    app.get('/', { schema }, sendIndex);
    app.get('/*', { schema }, sendIndex);
  };
}

export const dashboardRoutes: RouteModule = createDashboardRoutes();
