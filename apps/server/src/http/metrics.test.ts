import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('GET /metrics', () => {
  it('counts requests by route pattern, never by raw URL', async () => {
    for (const id of ['usr_aaaaaaaaaa', 'usr_bbbbbbbbbb', 'usr_cccccccccc']) {
      await t.app.inject({ method: 'GET', url: `/api/v1/users/${id}`, headers: t.admin.headers });
    }
    // (GET of an unknown path is the dashboard's SPA fallback; no route takes this POST.)
    await t.app.inject({ method: 'POST', url: '/no/such/path/123' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.body;
    expect(text).toContain('marquee_http_requests_total{method="GET",route="/api/v1/users/:id",status="404"} 3');
    expect(text).toContain('marquee_http_requests_total{method="POST",route="unmatched",status="404"} 1');
    expect(text).toMatch(
      /marquee_http_request_duration_seconds_bucket\{le="[0-9.+Inf]+",method="GET",route="\/api\/v1\/users\/:id",status="404"\} \d+/,
    );
    expect(text).not.toContain('usr_aaaaaaaaaa');
    expect(text).not.toContain('/no/such/path');
    // default process metrics
    expect(text).toContain('marquee_process_cpu_user_seconds_total');
    expect(text).toContain('marquee_nodejs_eventloop_lag_seconds');
  });

  it('health is 200 when ready; ready checks the store', async () => {
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.json()).toEqual({ status: 'ready' });
  });
});

describe('GET /metrics with MARQUEE_METRICS_TOKEN', () => {
  let locked: TestApp;
  const token = 'scrape-token-0123456789';
  beforeAll(async () => {
    locked = await createTestApp({ config: { metricsToken: token } });
  });
  afterAll(async () => {
    await locked?.close();
  });

  it('answers the scraper with the token, 401 with a reason to anyone else', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${token}`, `Bearer ${token}x`]) {
      const res = await locked.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: authorization ? { authorization } : {},
      });
      expect(res.statusCode, authorization).toBe(401);
      expect(res.json().code).toBe('MQ_ERR_UNAUTHENTICATED');
      expect(res.body).not.toContain('marquee_http_requests_total');
    }
    const ok = await locked.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('marquee_http_requests_total');
  });
});
