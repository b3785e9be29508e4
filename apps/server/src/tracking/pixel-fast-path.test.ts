/**
 * The pixel fast path (pixel-fast-path.ts) answers over a real socket exactly what the Fastify routes answer
 * (app.inject goes to Fastify directly): same status, headers and body, same event recorded, same request
 * metrics; and what it does not take (escapes, HEAD, POST, over-long tokens, odd query strings) still reaches
 * Fastify.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mulberry32 } from '@marquee/decision';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackingOf } from '../app.ts';
import type { TestApp } from '../testing/test-app.ts';
import { fastPathTaken, installFastPath } from './pixel-fast-path.ts';
import { PIXEL_GIF } from './tracking-routes.ts';
import { decide, listeningWorld, pathOf, readAll, T0, testClock, type World } from './tracking-world.ts';

const DAY = 24 * 3_600_000;
const UA = 'pixel-fast-path-test/1.0';
/**
 * Headers of the transport, not of the answer (inject has no connection), and the per-IP rate counters of the
 * answers Fastify gives to what the fast path leaves it (they move with every request).
 */
const TRANSPORT = new Set([
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'x-request-id',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
]);

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  requestId: string;
}

describe('pixel fast path', () => {
  let t: TestApp;
  let w: World;
  let port: number;
  const clock = testClock();

  beforeAll(async () => {
    ({ t, w, port } = await listeningWorld({ now: clock.now }));
  });
  afterAll(async () => {
    await t?.close();
  });

  const split = (raw: Record<string, string>): Answer['headers'] => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) if (!TRANSPORT.has(k)) out[k] = v;
    return out;
  };
  /** node:http, not fetch: the path goes out exactly as written (no URL normalisation). */
  const viaSocket = (method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const options = { host: '127.0.0.1', port, path, method, headers: { 'user-agent': UA, ...headers } };
      const req = request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) raw[k] = String(v);
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: split(raw), body, requestId: raw['x-request-id'] ?? '' });
        });
      });
      req.on('error', reject);
      req.end();
    });
  const viaFastify = async (method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await t.app.inject({ method: method as 'GET', url: path, headers: { 'user-agent': UA, ...headers } });
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) raw[k] = String(v);
    return { status: res.statusCode, headers: split(raw), body: res.rawPayload, requestId: raw['x-request-id'] ?? '' };
  };
  const lastEvent = async () => {
    const e = (await readAll(trackingOf(t.app).log)).at(-1)!;
    return { kind: e.kind, verdict: e.verdict, reason: e.reason, source: e.source, price: e.priceMicros, ua: e.ua };
  };
  const impressionPath = async () => pathOf((await decide(t.app, w.placements.cpm)).ad!.tracking.impression);
  const tokenOf = (path: string) => path.split('/').at(-1)!.split('?')[0]!;

  /** One request over the socket (fast path), its twin through Fastify: equal answers and events. */
  const twins = async (
    socketPath: string,
    fastifyPath: string,
    method = 'GET',
    headers: Record<string, string> = {},
  ) => {
    const taken = fastPathTaken(t.app.server);
    const fast = await viaSocket(method, socketPath, headers);
    const fastEvent = await lastEvent();
    const tookIt = fastPathTaken(t.app.server) > taken;
    const slow = await viaFastify(method, fastifyPath, headers);
    const slowEvent = await lastEvent();
    expect(fast.status, `${method} ${socketPath.slice(0, 120)}`).toBe(slow.status);
    expect(fast.headers).toEqual(slow.headers);
    expect(fast.body.equals(slow.body)).toBe(true);
    if (tookIt) expect(fast.requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(fastEvent).toEqual(slowEvent);
    return { fast, event: fastEvent, tookIt };
  };

  it('a valid impression: the same GIF, headers and counted event as the Fastify route', async () => {
    const { fast, event, tookIt } = await twins(await impressionPath(), await impressionPath());
    expect(tookIt).toBe(true);
    expect(fast.status).toBe(200);
    expect(fast.body.equals(PIXEL_GIF)).toBe(true);
    expect(fast.headers).toMatchObject({
      'content-type': 'image/gif',
      'cache-control': 'no-store, no-cache, max-age=0',
      'access-control-allow-origin': '*',
      'cross-origin-resource-policy': 'cross-origin',
      vary: 'Origin',
    });
    expect(event).toEqual({ kind: 'impression', verdict: 'valid', reason: '', source: 'pixel', price: 4_000, ua: UA });
  });

  it('replayed, altered, malformed, preview and expired tokens: the same answers and invalid events', async () => {
    const counted = await impressionPath();
    await viaSocket('GET', counted);
    const dup = await twins(counted, counted);
    expect(dup.event.reason).toBe('duplicate');

    const token = tokenOf(await impressionPath());
    const [kid, payload, sig] = token.split('.') as [string, string, string];
    const altered = `/t/impression/${kid}.${payload}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
    expect((await twins(altered, altered)).event.reason).toBe('bad_signature');
    expect((await twins('/t/impression/abc', '/t/impression/abc')).event.reason).toBe('malformed');
    expect((await twins('/t/impression/preview', '/t/impression/preview')).event.reason).toBe('preview');

    const a = await impressionPath();
    const b = await impressionPath();
    clock.advance(DAY + 1000);
    try {
      const expired = await twins(a, b);
      expect(expired.tookIt).toBe(true);
      expect(expired.event.reason).toBe('expired');
    } finally {
      clock.set(T0);
    }
  });

  it('viewable and custom events, with and without a valid name', async () => {
    const view = async () => pathOf((await decide(t.app, w.placements.cpm)).ad!.tracking.viewable);
    expect((await twins(await view(), await view())).event).toMatchObject({ kind: 'viewable', verdict: 'valid' });
    const custom = async (query: string) => `/t/custom/${tokenOf(await impressionPath())}${query}`;
    for (const query of ['?name=start', '?x=1&name=firstQuartile&name=other', '', '?name=', '?name', '?other=1']) {
      const r = await twins(await custom(query), await custom(query));
      expect(r.tookIt, query).toBe(true);
      expect(r.event.reason, query).toBe(query.includes('name=') && !query.endsWith('name=') ? '' : 'bad_name');
    }
  });

  it('a sane incoming request id is echoed, an unsafe one replaced', async () => {
    const fast = await viaSocket('GET', await impressionPath(), { 'x-request-id': 'edge-1234' });
    expect(fast.requestId).toBe('edge-1234');
    const unsafe = await viaSocket('GET', await impressionPath(), { 'x-request-id': 'a b<c>' });
    expect(unsafe.requestId).not.toBe('a b<c>');
  });

  it('leaves to Fastify what it does not take: escapes, odd queries, other methods, over-long tokens', async () => {
    const cases: [string, string][] = [
      ['GET', `/t/impression/${tokenOf(await impressionPath())}%41`],
      ['GET', `/t/custom/${tokenOf(await impressionPath())}?name=a%20b`],
      ['GET', `/t/custom/${tokenOf(await impressionPath())}?name=a+b`],
      ['GET', `/t/impression/${'A'.repeat(9000)}`],
      ['GET', `/t/impression/${tokenOf(await impressionPath())}/x`],
      ['GET', `/t/impression/${tokenOf(await impressionPath())};x`],
      ['GET', '/t/impression/'],
      ['HEAD', `/t/impression/${tokenOf(await impressionPath())}`],
      ['POST', await impressionPath()],
      ['DELETE', await impressionPath()],
    ];
    for (const [method, path] of cases) {
      const taken = fastPathTaken(t.app.server);
      const res = await viaSocket(method, path);
      expect(fastPathTaken(t.app.server), `${method} ${path.slice(0, 80)}`).toBe(taken);
      expect(res.status, `${method} ${path.slice(0, 80)}`).toBeLessThan(500);
    }
  });

  it('300 mutated pixel URLs: the same answers and events as through Fastify', { timeout: 120_000 }, async () => {
    const counted: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { ad } = await decide(t.app, w.placements.cpm);
      for (const u of [ad!.tracking.impression, ad!.tracking.viewable, `${ad!.tracking.custom}`]) {
        counted.push(pathOf(u));
        await viaSocket('GET', pathOf(u));
      }
    }
    const rng = mulberry32(20261127);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const chars = 'aZ09._-~%/?&=+;:!$*()';
    let taken = 0;
    for (let n = 0; n < 300; n++) {
      const path = pick(counted);
      const i = 1 + Math.floor(rng() * (path.length - 1)); // the leading "/" stays (else the HTTP parser answers 400)
      const c = pick(chars.split(''));
      const mutated =
        rng() < 0.5 ? `${path.slice(0, i)}${c}${path.slice(i + 1)}` : `${path}${pick(['?', '&', ''])}${c}name=${c}`;
      const r = await twins(mutated, mutated);
      if (r.tookIt) taken++;
    }
    expect(taken).toBeGreaterThan(30); // the mutations it takes (the rest are for Fastify: escapes, other paths)
  });

  it('counts its answers in the route metrics, like the Fastify route', async () => {
    const line = async () => {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      const l = res.body
        .split('\n')
        .find((x) =>
          x.startsWith('marquee_http_requests_total{method="GET",route="/t/impression/:token",status="200"}'),
        );
      return Number(l?.split(' ').at(-1) ?? 0);
    };
    const before = await line();
    await viaSocket('GET', await impressionPath());
    await viaFastify('GET', await impressionPath());
    expect(await line()).toBe(before + 2);
  });
});

describe('installFastPath', () => {
  it('hands a request to the listeners behind it when the fast path throws (the process lives on)', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('served behind');
    });
    installFastPath(server, () => {
      throw new Error('fast path bug');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const body = await new Promise<string>((resolve, reject) => {
        request({ port, host: '127.0.0.1', path: '/t/impression/x.y.z' }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(`${res.statusCode} ${text}`));
        })
          .on('error', reject)
          .end();
      });
      expect(body).toBe('200 served behind');
      expect(fastPathTaken(server)).toBe(0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
