/**
 * CORS for the public serving paths (decisions, tracking, VAST, conversions): any page may call them,
 * without credentials. Headers are fixed strings set by one hook; preflights are answered here.
 * The management API (/api/*) gets no CORS headers: the dashboard is served from the same origin.
 */
import type { App } from '../deps.ts';

const PUBLIC_PREFIXES = ['/v1/', '/t/'] as const;
const ALLOW = {
  'access-control-allow-origin': '*',
  vary: 'Origin',
} as const;
const PREFLIGHT = {
  ...ALLOW,
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization, x-marquee-postback-secret',
  'access-control-max-age': '600',
} as const;

function isPublic(url: string): boolean {
  for (const p of PUBLIC_PREFIXES) if (url.startsWith(p)) return true;
  return false;
}

export function registerPublicCors(app: App): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (!isPublic(request.url)) return done();
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      reply.headers(PREFLIGHT).code(204).send();
      return;
    }
    reply.headers(ALLOW);
    done();
  });
}
