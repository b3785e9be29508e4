import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.ts';
import { toMarqueeError } from './error-handler.ts';
import { MarqueeError } from './errors.ts';

let t: TestApp;
const logLines: Array<Record<string, unknown>> = [];
beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) logLines.push(JSON.parse(line));
      callback();
    },
  });
  t = await createTestApp({
    config: { bodyLimitBytes: 4096, rateLimitPerMinute: 40 },
    logger: pino({ level: 'info' }, sink),
  });
});
afterAll(async () => {
  await t?.close();
});

const network = { name: 'Net', currency: 'EUR', timeZone: 'Europe/Paris' };

describe('error handler', () => {
  it('rejects malformed JSON with 400 MQ_ERR_MALFORMED_JSON', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/network',
      headers: { ...t.admin.headers, 'content-type': 'application/json' },
      payload: '{"name": "x",',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ code: 'MQ_ERR_MALFORMED_JSON', message: expect.any(String), details: [] });
  });

  it('rejects an empty JSON body as malformed', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/network',
      headers: { ...t.admin.headers, 'content-type': 'application/json' },
      payload: '',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('MQ_ERR_MALFORMED_JSON');
  });

  it('rejects unknown fields instead of stripping them', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/network',
      headers: t.admin.headers,
      payload: { ...network, colour: 'red' },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('MQ_ERR_VALIDATION');
    expect(body.details).toContainEqual({
      path: '/colour',
      message: 'is not an allowed field',
      code: 'additionalProperties',
    });
  });

  it('reports missing fields and wrong types together, with JSON-pointer paths', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/network',
      headers: t.admin.headers,
      payload: { name: 42, currency: 'EUR' },
    });
    expect(res.statusCode).toBe(400);
    const details = res.json().details as Array<{ path: string; code: string }>;
    expect(details).toContainEqual(expect.objectContaining({ path: '/timeZone', code: 'required' }));
    expect(details).toContainEqual(expect.objectContaining({ path: '/name', code: 'type' }));
  });

  it('does not coerce body types ("5" is not a number)', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: t.admin.headers,
      payload: { email: 'a@example.com', name: 'A', role: 'admin', status: 'active', advertiserIds: 'adv_1' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toContainEqual(expect.objectContaining({ path: '/advertiserIds', code: 'type' }));
  });

  it('coerces query strings and reports bad ones', async () => {
    const ok = await t.app.inject({ method: 'GET', url: '/api/v1/users?limit=1', headers: t.admin.headers });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().items).toHaveLength(1);
    const bad = await t.app.inject({ method: 'GET', url: '/api/v1/users?limit=lots', headers: t.admin.headers });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'MQ_ERR_VALIDATION', message: 'The query string is not valid' });
    expect(bad.json().details[0].path).toBe('/limit');
  });

  it('answers 413 with our body when the body is over the limit', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/network',
      headers: t.admin.headers,
      payload: { ...network, name: 'x'.repeat(10_000) },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('MQ_ERR_BODY_TOO_LARGE');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/network',
      headers: { ...t.admin.headers, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('MQ_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 404 MQ_ERR_NOT_FOUND for unknown routes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'MQ_ERR_NOT_FOUND', details: [] });
  });

  it('answers 405 with Allow for a known path and an unknown method', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/network', headers: t.admin.headers });
    expect(res.statusCode).toBe(405);
    expect(res.json().code).toBe('MQ_ERR_METHOD_NOT_ALLOWED');
    expect(res.headers['allow']).toContain('PUT');
    expect(res.headers['allow']).toContain('GET');
  });

  it('rejects a bad id in the path as a validation error', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/users/not%20an%20id', headers: t.admin.headers });
    expect(res.statusCode).toBe(400);
    expect(res.json().details[0].path).toBe('/id');
  });

  it('echoes a sane incoming request id and replaces an unsafe one', async () => {
    const kept = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await t.app.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'a b\n<script>' },
    });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('puts the request id in every log line of the request', async () => {
    await t.app.inject({ method: 'GET', url: '/api/v1/network', headers: { 'x-request-id': 'trace-me-42' } });
    const lines = logLines.filter((l) => l['requestId'] === 'trace-me-42');
    expect(lines.map((l) => l['msg'])).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
  });

  it('limits requests per IP across the API with 429 and Retry-After', async () => {
    let limited: Awaited<ReturnType<typeof t.app.inject>> | undefined;
    for (let i = 0; i < 45 && !limited; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/network', remoteAddress: '192.0.2.7' });
      if (res.statusCode === 429) limited = res;
    }
    expect(limited?.json().code).toBe('MQ_ERR_RATE_LIMITED');
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThan(0);
    // other clients and the health probe are unaffected
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/network', remoteAddress: '192.0.2.8' })).statusCode).toBe(
      401,
    );
    expect((await t.app.inject({ method: 'GET', url: '/health', remoteAddress: '192.0.2.7' })).statusCode).toBe(200);
  });

  it('sets security headers, and CORS only on public /v1 routes', async () => {
    const api = await t.app.inject({
      method: 'GET',
      url: '/api/v1/network',
      headers: { origin: 'https://evil.example' },
    });
    expect(api.headers['content-security-policy']).toContain("default-src 'none'");
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    expect(api.headers['access-control-allow-origin']).toBeUndefined();
    const pub = await t.app.inject({ method: 'GET', url: '/v1/anything', headers: { origin: 'https://site.example' } });
    expect(pub.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('toMarqueeError', () => {
  it('hides unexpected errors behind MQ_ERR_INTERNAL and flags them for the log', () => {
    const { error, internal } = toMarqueeError(new TypeError('secret detail: db password is hunter2'));
    expect(internal).toBe(true);
    expect(error.toJSON()).toEqual({ code: 'MQ_ERR_INTERNAL', message: 'Internal error', details: [] });
  });

  it('keeps MarqueeErrors and maps framework 4xx by status', () => {
    const own = new MarqueeError('MQ_ERR_CONFLICT');
    expect(toMarqueeError(own).error).toBe(own);
    const fromPlugin = Object.assign(new Error('Bad thing in URL'), { statusCode: 400, code: 'FST_ERR_BAD_URL' });
    expect(toMarqueeError(fromPlugin)).toMatchObject({ internal: false, error: { code: 'MQ_ERR_VALIDATION' } });
  });

  it('answers 503 MQ_ERR_UNAVAILABLE with Retry-After when the database is away, 500 for other errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const cut = new Error('Connection terminated unexpectedly');
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    const wrapped = new Error('query failed', { cause: new AggregateError([refused], 'connect failed') });
    for (const err of [refused, cut, shutdown, wrapped]) {
      const { error, internal } = toMarqueeError(err);
      expect(internal).toBe(false);
      expect(error.statusCode).toBe(503);
      expect(error.code).toBe('MQ_ERR_UNAVAILABLE');
      expect(error.headers['retry-after']).toBe('5');
    }
    const syntax = Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' });
    expect(toMarqueeError(syntax).error.code).toBe('MQ_ERR_INTERNAL');
  });
});
