/**
 * CORS for the public serving paths (decisions, tracking, VAST, conversions): any page may call them,
 * without credentials. Headers are fixed strings set by the app's onRequest hook; preflights are answered here.
 * The management API (/api/*) gets no CORS headers: the dashboard is served from the same origin.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

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

/** Adds the CORS headers of a public path; answers a preflight itself (then returns true: the request is done). */
export function applyPublicCors(request: FastifyRequest, reply: FastifyReply): boolean {
  if (!isPublic(request.url)) return false;
  if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
    reply.headers(PREFLIGHT).code(204).send();
    return true;
  }
  reply.headers(ALLOW);
  return false;
}
