/**
 * The decision fast path (decision-fast-path.ts) answers over a real socket what the Fastify route answers
 * (app.inject goes to Fastify directly): same status, headers and body (the ids and signed URLs of a served ad
 * aside, which differ per decision), same request metrics and log lines; for valid bodies of every content-type
 * spelling it takes, schema violations, malformed JSON, poisoned keys, explain and unknown placements. What it
 * does not take (other content types, empty, chunked or oversized bodies, query strings) reaches Fastify.
 */
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { mulberry32 } from '@marquee/decision';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsOf, servingOf } from '../app.ts';
import { fastPathTaken } from '../http/fast-path.ts';
import type { TestApp } from '../testing/test-app.ts';
import { listeningWorld, testClock, type World } from '../tracking/tracking-world.ts';
import { DecisionRouteHolder } from './decision-fast-path.ts';
import { DECISION_BODY_LIMIT } from './serving-routes.ts';

const UA = 'decision-fast-path-test/1.0';
const REQUEST_ID = 'fast-path-test-1';
/** Headers of the transport, not of the answer (inject has no connection), and the moving rate-limit counters. */
const TRANSPORT = new Set([
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
]);

interface Answer {
  status: number;
  headers: Record<string, string>;
  connection: string | undefined;
  body: Buffer;
}

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

/** A log line without what differs between a socket and inject (time, peer port, response time). */
function comparable(line: Record<string, unknown>): Record<string, unknown> {
  const { time: _t, responseTime: _r, pid: _p, hostname: _h, ...rest } = line;
  const req = rest['req'] as Record<string, unknown> | undefined;
  if (req) rest['req'] = { ...req, remotePort: undefined };
  const err = rest['err'] as Record<string, unknown> | undefined;
  if (err) rest['err'] = { ...err, stack: undefined };
  return rest;
}

/** A decision answer with what differs per decision (ids, signed URLs) blanked; the shape and the rest stay. */
function masked(body: Buffer): unknown {
  const json = JSON.parse(body.toString('utf8')) as { requestId: string; decisions: Record<string, unknown[]> };
  json.requestId = '<id>';
  for (const ads of Object.values(json.decisions)) {
    for (const ad of ads as Record<string, unknown>[]) {
      ad['decisionId'] = '<id>';
      ad['clickUrl'] = typeof ad['clickUrl'] === 'string' ? '<url>' : ad['clickUrl'];
      const tracking = ad['tracking'] as Record<string, unknown>;
      for (const k of Object.keys(tracking)) tracking[k] = typeof tracking[k] === 'string' ? '<url>' : tracking[k];
    }
  }
  return json;
}

describe('decision fast path', () => {
  let t: TestApp;
  let w: World;
  let port: number;
  const logs = captureLogs();
  const clock = testClock();

  beforeAll(async () => {
    ({ t, w, port } = await listeningWorld({ now: clock.now, logger: logs.logger }));
  });
  afterAll(async () => {
    await t?.close();
  });

  const split = (raw: Record<string, unknown>) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) if (!TRANSPORT.has(k)) headers[k] = String(v);
    return { headers, connection: raw['connection'] === undefined ? undefined : String(raw['connection']) };
  };
  /** node:http with the body and headers exactly as given (content-length unless `chunked`). */
  const viaSocket = (
    body: string | Buffer,
    headers: Record<string, string>,
    path = '/v1/decisions',
    chunked = false,
  ): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      // inject's host, so that the request log lines compare.
      const all: Record<string, string> = {
        host: 'localhost:80',
        'user-agent': UA,
        'x-request-id': REQUEST_ID,
        ...headers,
      };
      if (chunked) all['transfer-encoding'] = 'chunked';
      else if (!('content-length' in all)) all['content-length'] = String(bytes.length);
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: all }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, ...split(res.headers), body: Buffer.concat(chunks) }),
        );
      });
      req.on('error', reject);
      req.end(bytes);
    });
  const viaFastify = async (
    body: string | Buffer,
    headers: Record<string, string>,
    path = '/v1/decisions',
  ): Promise<Answer> => {
    const res = await t.app.inject({
      method: 'POST',
      url: path,
      headers: { 'user-agent': UA, 'x-request-id': REQUEST_ID, ...headers },
      payload: body,
    });
    return { status: res.statusCode, ...split(res.headers), body: res.rawPayload };
  };
  const counted = async (status: number) => {
    const metric = await metricsOf(t.app).requests.get();
    const v = metric.values.find(
      (x) =>
        x.labels['route'] === '/v1/decisions' && x.labels['method'] === 'POST' && x.labels['status'] === String(status),
    );
    return v?.value ?? 0;
  };

  /** One request over the socket, its twin through Fastify: equal answers, metrics and log lines. */
  const twins = async (body: string | Buffer, headers: Record<string, string>) => {
    const taken = fastPathTaken(t.app.server);
    const logFrom = logs.lines.length;
    const fast = await viaSocket(body, headers);
    const tookIt = fastPathTaken(t.app.server) > taken;
    const fastCount = await counted(fast.status);
    const fastLogs = logs.lines.slice(logFrom).map(comparable);
    const slowFrom = logs.lines.length;
    const slow = await viaFastify(body, headers);
    const slowLogs = logs.lines.slice(slowFrom).map(comparable);
    expect(fast.status).toBe(slow.status);
    expect(fast.headers).toEqual(slow.headers);
    expect(Object.keys(fast.headers)).toEqual(Object.keys(slow.headers));
    if (fast.status === 200) expect(masked(fast.body)).toEqual(masked(slow.body));
    else expect(fast.body.toString('utf8')).toBe(slow.body.toString('utf8'));
    expect(await counted(fast.status)).toBe(fastCount + 1);
    expect(fastLogs).toEqual(slowLogs);
    return { fast, slow, tookIt };
  };

  const json = { 'content-type': 'application/json' };
  const valid = () => JSON.stringify({ placements: [{ id: w.placements.cpm }], user: { key: 'u-1' } });

  it('a valid decision: the same ad, headers, metrics and log lines as the Fastify route', async () => {
    const { fast, tookIt } = await twins(valid(), json);
    expect(tookIt).toBe(true);
    expect(fast.status).toBe(200);
    expect(fast.headers).toMatchObject({
      'x-request-id': REQUEST_ID,
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'access-control-allow-origin': '*',
    });
    const body = JSON.parse(fast.body.toString('utf8')) as { decisions: Record<string, unknown[]> };
    expect(body.decisions[w.placements.cpm]).toHaveLength(1);
  });

  it('every content-type spelling it takes, and an unknown placement (noFill)', async () => {
    for (const type of [
      'application/json; charset=utf-8',
      'application/json;charset=utf-8',
      'text/plain',
      'text/plain;charset=UTF-8',
      'text/plain; charset=utf-8',
    ]) {
      const { tookIt, fast } = await twins(valid(), { 'content-type': type });
      expect(tookIt, type).toBe(true);
      expect(fast.status, type).toBe(200);
    }
    const { tookIt, fast } = await twins(JSON.stringify({ placements: [{ id: 'no-such-placement', count: 2 }] }), json);
    expect(tookIt).toBe(true);
    expect(JSON.parse(fast.body.toString('utf8')).noFill).toEqual({ 'no-such-placement': 'unknown_placement' });
  });

  it('schema violations: the same 400 body with the validator details', async () => {
    for (const body of [
      '{}',
      'null',
      '[]',
      '"text"',
      '42',
      JSON.stringify({ placements: [] }),
      JSON.stringify({ placements: [{ id: 'p', count: 0 }], extra: true }),
      JSON.stringify({ placements: [{ id: 'p', count: '2' }], user: { key: 5 } }),
      JSON.stringify({ placements: Array.from({ length: 21 }, (_, i) => ({ id: `p${i}` })) }),
      JSON.stringify({ placements: [{ id: 'p' }], kv: { k: [1] }, device: { ip: 'x'.repeat(46) } }),
    ]) {
      for (const headers of [json, { 'content-type': 'text/plain' }]) {
        const { fast, tookIt } = await twins(body, headers);
        expect(tookIt, body).toBe(true);
        expect(fast.status, body).toBe(400);
        expect(JSON.parse(fast.body.toString('utf8')).code, body).toBe('MQ_ERR_VALIDATION');
      }
    }
  });

  it('explain is refused as the route refuses it', async () => {
    const { fast, tookIt } = await twins(
      JSON.stringify({ placements: [{ id: w.placements.cpm }], explain: true }),
      json,
    );
    expect(tookIt).toBe(true);
    expect(fast.status).toBe(400);
    expect(JSON.parse(fast.body.toString('utf8')).details[0].code).toBe('not_here');
  });

  it('malformed JSON and poisoned keys: 400 MQ_ERR_MALFORMED_JSON and the connection closed, as Fastify', async () => {
    for (const body of [
      '{"placements":',
      '{bad}',
      ' ',
      '\uFEFF{"placements":[{"id":"p"}]}',
      '{"placements":[{"id":"p"}],"__proto__":{"x":1}}',
      '{"placements":[{"id":"p"}],"kv":{"__proto__":["x"]}}',
      '{"placements":[{"id":"p"}],"constructor":{"prototype":{"x":1}}}',
    ]) {
      const { fast, slow, tookIt } = await twins(body, json);
      expect(tookIt, body).toBe(true);
      if (fast.status === 400 && JSON.parse(fast.body.toString('utf8')).code === 'MQ_ERR_MALFORMED_JSON') {
        expect(fast.connection, body).toBe('close');
        expect(slow.connection, body).toBe('close');
      }
    }
    // Poisoned keys are refused by the JSON parser exactly as before.
    const poisoned = await twins('{"placements":[{"id":"p"}],"kv":{"__proto__":["x"]}}', json);
    expect(JSON.parse(poisoned.fast.body.toString('utf8')).code).toBe('MQ_ERR_MALFORMED_JSON');
    // text/plain: the route's JSON.parse (its own key, no prototype change), then the schema, as before.
    for (const body of ['{"placements":', '{"placements":[{"id":"p"}],"__proto__":{"x":1}}']) {
      const { tookIt } = await twins(body, { 'content-type': 'text/plain' });
      expect(tookIt, body).toBe(true);
    }
  });

  it('a failing decision: 500 MQ_ERR_INTERNAL, logged as an unexpected error, as Fastify', async () => {
    const service = servingOf(t.app).service;
    const decide = service.decide;
    service.decide = async () => {
      throw new Error('decision store away');
    };
    try {
      const logFrom = logs.lines.length;
      const { fast, tookIt } = await twins(valid(), json);
      expect(tookIt).toBe(true);
      expect(fast.status).toBe(500);
      expect(JSON.parse(fast.body.toString('utf8')).code).toBe('MQ_ERR_INTERNAL');
      expect(logs.lines.slice(logFrom).some((l) => l['msg'] === 'unexpected error')).toBe(true);
    } finally {
      service.decide = decide;
    }
  });

  it('200 mutated bodies (seeded): the same answers as through Fastify', async () => {
    const rng = mulberry32(20261127);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const pieces = [
      '"',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '\\',
      '__proto__',
      'constructor',
      'prototype',
      '-1',
      '1e999',
      'null',
      ' ',
    ];
    const seeds = [
      valid(),
      JSON.stringify({
        placements: [{ id: w.placements.b, count: 3 }],
        kv: { a: 'b', c: ['d'] },
        consent: { gdpr: true },
      }),
      JSON.stringify({ placements: [{ id: w.placements.cpc }], site: { page: 'https://x.example', keywords: ['k'] } }),
    ];
    const statuses = new Set<number>();
    for (let i = 0; i < 200; i++) {
      let body = pick(seeds);
      for (let edits = 1 + Math.floor(rng() * 3); edits > 0; edits--) {
        const at = Math.floor(rng() * (body.length + 1));
        const op = rng();
        if (op < 0.4) body = body.slice(0, at) + pick(pieces) + body.slice(at);
        else if (op < 0.8) body = body.slice(0, at) + body.slice(at + 1 + Math.floor(rng() * 4));
        else body = body.slice(0, at);
      }
      if (body.length === 0) continue;
      const { fast, tookIt } = await twins(body, pick([json, { 'content-type': 'text/plain' }]));
      expect(fast.status, body).toBeLessThan(500);
      expect(tookIt, body).toBe(true);
      statuses.add(fast.status);
    }
    expect([...statuses].sort()).toEqual([200, 400]);
  });

  it('bytes that are not UTF-8 decode as Fastify decodes them', async () => {
    const body = Buffer.concat([Buffer.from('{"placements":[{"id":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}]}')]);
    const { tookIt } = await twins(body, json);
    expect(tookIt).toBe(true);
  });

  it('what it does not take reaches Fastify untouched', async () => {
    const cases: { body: string; headers: Record<string, string>; path?: string; chunked?: boolean }[] = [
      { body: valid(), headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      { body: valid(), headers: { 'content-type': 'APPLICATION/JSON' } },
      { body: valid(), headers: { 'content-type': 'application/json; charset=latin1' } },
      { body: valid(), headers: {} },
      { body: '', headers: json },
      { body: valid(), headers: json, path: '/v1/decisions?x=1' },
      { body: valid(), headers: json, chunked: true },
      { body: 'x'.repeat(DECISION_BODY_LIMIT + 1), headers: json },
      { body: valid(), headers: { ...json, 'content-encoding': 'identity' } },
    ];
    for (const c of cases) {
      const taken = fastPathTaken(t.app.server);
      const fast = await viaSocket(c.body, c.headers, c.path, c.chunked);
      expect(fastPathTaken(t.app.server), JSON.stringify(c.headers)).toBe(taken);
      const slow = await viaFastify(c.body, c.headers, c.path);
      expect(fast.status, JSON.stringify(c.headers)).toBe(slow.status);
      if (fast.status !== 200) expect(fast.body.toString('utf8')).toBe(slow.body.toString('utf8'));
    }
  });

  it('an oversized body is refused by Fastify with its 413, unread', async () => {
    const fast = await viaSocket('x'.repeat(DECISION_BODY_LIMIT + 1), json);
    expect(fast.status).toBe(413);
    expect(JSON.parse(fast.body.toString('utf8')).code).toBe('MQ_ERR_BODY_TOO_LARGE');
  });
});

describe('DecisionRouteHolder', () => {
  it('stays off (Fastify serves every request) when the route gains what the fast path does not reproduce', () => {
    const schema = { body: { type: 'object' }, response: { 200: { type: 'object' } } };
    const cases: [object | undefined, string][] = [
      [undefined, 'route not found'],
      [{ schema, bodyLimit: DECISION_BODY_LIMIT, onRequest: [() => {}] }, 'route-level onRequest hook'],
      [{ schema, bodyLimit: DECISION_BODY_LIMIT, preHandler: () => {} }, 'route-level preHandler hook'],
      [{ schema, bodyLimit: DECISION_BODY_LIMIT, validatorCompiler: () => {} }, 'route-level compilers'],
      [
        { schema: { ...schema, body: { content: {} } }, bodyLimit: DECISION_BODY_LIMIT },
        'per-content-type body schema',
      ],
    ];
    for (const [routeOptions, reason] of cases) {
      const holder = new DecisionRouteHolder();
      const told: string[] = [];
      holder.onOff = (r) => told.push(r);
      holder.routeOptions = routeOptions;
      holder.compile({} as never);
      expect(holder.code).toBeUndefined();
      expect(told).toEqual([reason]);
    }
  });
});
