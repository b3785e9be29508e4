/**
 * The lean serving path of the tracking pixels: `GET /t/impression|viewable|custom/<token>` answered by a plain
 * `node:http` request handler that runs before Fastify on the same server, with the answer Fastify would give
 * (same status, headers, body, request metrics and request log lines). Everything it is not sure about goes to
 * Fastify untouched: other methods and paths, URLs with percent-escapes or unusual characters, over-long
 * tokens, a server that is closing (Fastify answers its 503), a trusted proxy (Fastify's address rules), and a
 * hit whose event could not be stored (Fastify handles the request again and answers 503 if the log still
 * refuses; the failed attempt counted nothing and gave its dedup claims back).
 *
 * Why: per hit, Fastify's request and reply objects, hook runners, child logger and reply pipeline cost more
 * CPU (and garbage) than the hit itself (docs/performance.md, "Tracking pixel"). The Fastify routes stay
 * registered: they are documented in the OpenAPI spec, serve `app.inject`, POST beacons, clicks and every case
 * handed over.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { type FastPath, levelEnabled, PUBLIC_CORS, requestLog } from '../http/fast-path.ts';
import type { HttpMetrics } from '../http/metrics.ts';
import { genRequestId, REQUEST_ID_HEADER } from '../http/request-id.ts';
import { PIXEL_GIF, PIXEL_GIF_HEADERS } from './tracking-routes.ts';
import type { TokenKind, TrackingService } from './tracking-service.ts';

export { type FastPath, fastPathTaken, installFastPath } from '../http/fast-path.ts';

export interface PixelFastPathOptions {
  readonly service: TrackingService;
  /** Headers the app's onRequest hook sets on every answer (security headers, the cluster worker's id). */
  readonly answerHeaders: Readonly<Record<string, string>>;
  readonly metrics: HttpMetrics;
  /** The app's logger (app.log: Fastify's serializers), for the request log lines. */
  readonly logger: FastifyBaseLogger;
  /** True once the app is closing: new hits then go to Fastify, which refuses them with its 503. */
  readonly closing: () => boolean;
}

/** Longest token taken here; longer ones go to Fastify (its maxParamLength is 8192: 414 beyond). */
const MAX_TOKEN = 8000;

interface Route {
  readonly kind: Exclude<TokenKind, 'click'>;
  readonly prefix: string;
  /** The route pattern, as the Fastify route's metric label. */
  readonly pattern: string;
}
const ROUTES: readonly Route[] = (['impression', 'viewable', 'custom'] as const).map((kind) => ({
  kind,
  prefix: `/t/${kind}/`,
  pattern: `/t/${kind}/:token`,
}));

/** Token characters (base64url and the dots between its parts): no decoding can change such a path. */
function isTokenChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x5f ||
    c === 0x2e
  );
}
/** Characters of a query string read here as is (no escapes, no '+', no '#' or ';'). */
const PLAIN_QUERY = /^[A-Za-z0-9_.:~=&-]*$/;

/** The first `name` of a plain query string, as Fastify's parser and the route's `q()` read it ('' if none). */
function nameOf(query: string): string {
  let from = 0;
  while (from <= query.length) {
    let to = query.indexOf('&', from);
    if (to === -1) to = query.length;
    const eq = query.indexOf('=', from);
    const keyEnd = eq === -1 || eq > to ? to : eq;
    if (keyEnd - from === 4 && query.startsWith('name', from)) return keyEnd === to ? '' : query.slice(keyEnd + 1, to);
    from = to + 1;
  }
  return '';
}

export function createPixelFastPath(options: PixelFastPathOptions): FastPath {
  const { service, metrics, logger } = options;
  // The answer headers in the order the Fastify route sets them; slot 1 takes the request id.
  const merged: Record<string, string> = {
    [REQUEST_ID_HEADER]: '',
    ...options.answerHeaders,
    ...PUBLIC_CORS,
    ...PIXEL_GIF_HEADERS,
    'content-length': String(PIXEL_GIF.length),
  };
  const template: string[] = [];
  for (const [name, value] of Object.entries(merged)) template.push(name, value);
  // prom-client children per route (label validation once, not per hit).
  const counted = ROUTES.map((r) => {
    const labels = { method: 'GET', route: r.pattern, status: '200' };
    return { requests: metrics.requests.labels(labels), duration: metrics.duration.labels(labels) };
  });

  return (req, res, next) => {
    if (req.method !== 'GET') return false;
    const url = req.url;
    if (url === undefined || url.charCodeAt(1) !== 0x74 /* t */ || url.charCodeAt(2) !== 0x2f) return false;
    let r = -1;
    for (let i = 0; i < ROUTES.length; i++) {
      if (url.startsWith(ROUTES[i]!.prefix)) {
        r = i;
        break;
      }
    }
    if (r === -1) return false;
    const route = ROUTES[r]!;
    const start = route.prefix.length;
    let end = start;
    while (end < url.length && isTokenChar(url.charCodeAt(end))) end++;
    if (end === start || end - start > MAX_TOKEN) return false;
    let name: string | undefined;
    if (end < url.length) {
      if (url.charCodeAt(end) !== 0x3f /* ? */) return false;
      const query = url.slice(end + 1);
      if (!PLAIN_QUERY.test(query)) return false;
      if (route.kind === 'custom') name = nameOf(query);
    } else if (route.kind === 'custom') name = '';
    if (options.closing()) return false;

    const t0 = performance.now();
    const socket = req.socket;
    const ua = req.headers['user-agent'];
    const token = url.slice(start, end);
    const id = genRequestId(req);
    const log = levelEnabled(logger, 'info') ? requestLog(logger, id, req, url) : undefined;
    const ip = socket.remoteAddress as string; // what Fastify's request.ip is without a trusted proxy
    service.trackTokenThen(
      route.kind,
      token,
      name,
      { ip, ua: typeof ua === 'string' ? ua : '', source: 'pixel' },
      () => {
        const headers = template.slice();
        headers[1] = id;
        res.writeHead(200, headers);
        res.end(PIXEL_GIF, () => {
          const seconds = (performance.now() - t0) / 1000;
          const c = counted[r]!;
          c.requests.inc();
          c.duration.observe(seconds);
          log?.info({ res: { statusCode: 200 }, responseTime: seconds * 1000 }, 'request completed');
        });
      },
      // Not stored (claims given back, nothing counted): Fastify handles the request from the start and answers
      // as it always has (503 with its error body and log lines if the log still refuses).
      () => next(req, res),
    );
    return true;
  };
}
