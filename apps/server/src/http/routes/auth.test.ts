import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, sessionHeaders, type TestApp } from '../../testing/test-app.ts';
import { sha256Hex } from '../auth/tokens.ts';

let t: TestApp;
let clock = Date.UTC(2030, 0, 1);
beforeAll(async () => {
  clock = Date.now();
  t = await createTestApp({
    now: () => clock,
    config: { loginMaxFailuresPerAccount: 3, loginMaxFailuresPerIp: 6, loginWindowSeconds: 900 },
  });
});
afterAll(async () => {
  await t?.close();
});

const login = (email: string, password: string, remoteAddress = '10.0.0.1') =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, remoteAddress });

describe('sign-in', () => {
  it('signs in, sets a safe session cookie and returns the user and a CSRF token', async () => {
    const res = await login(t.admin.user.email, t.admin.password);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.user).toMatchObject({ id: t.admin.user.id, role: 'admin' });
    expect(body.user.passwordHash).toBeUndefined();
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(body.expiresAt)).toBe(clock + t.config.sessionTtlSeconds * 1000);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^marquee_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toContain('Secure');
  });

  it('accepts the email in any case', async () => {
    expect((await login(t.admin.user.email.toUpperCase(), t.admin.password)).statusCode).toBe(200);
  });

  it('refuses a wrong password or an unknown email with the same answer', async () => {
    const wrong = await login(t.admin.user.email, 'not the password', '10.0.9.1');
    const unknown = await login('nobody@example.com', 'whatever', '10.0.9.2');
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json().code).toBe('MQ_ERR_BAD_CREDENTIALS');
  });

  it('refuses a disabled user', async () => {
    const u = await t.createUser({ role: 'readonly', status: 'disabled' });
    expect((await login(u.user.email, u.password)).statusCode).toBe(401);
    // the session opened before the user was disabled no longer works either
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: u.headers });
    expect(me.statusCode).toBe(401);
  });

  it('sets the Secure flag when configured', async () => {
    const secure = await createTestApp({ backend: t.backend, config: { secureCookies: true } });
    try {
      const res = await secure.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: secure.admin.user.email, password: secure.admin.password },
      });
      expect(String(res.headers['set-cookie'])).toContain('Secure');
    } finally {
      await secure.close();
    }
  });

  it('records sign-ins in the audit log', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/audit-log?kind=user&entityId=${t.admin.user.id}`,
      headers: t.admin.headers,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().items.some((e: { action: string }) => e.action === 'login')).toBe(true);
  });
});

describe('sessions', () => {
  it('me returns the user and the CSRF token of the session', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: t.admin.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ user: { id: t.admin.user.id }, csrfToken: t.admin.headers['x-csrf-token'] });
  });

  it('anonymous callers get 401', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('MQ_ERR_UNAUTHENTICATED');
  });

  it('requires the CSRF header on cookie-authenticated writes', async () => {
    const { 'x-csrf-token': _csrf, ...cookieOnly } = t.admin.headers;
    const payload = { name: 'Net', currency: 'USD', timeZone: 'UTC' };
    const missing = await t.app.inject({ method: 'PUT', url: '/api/v1/network', headers: cookieOnly, payload });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().code).toBe('MQ_ERR_CSRF');
    const wrong = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/network',
      headers: { ...cookieOnly, 'x-csrf-token': 'x'.repeat(43) },
      payload,
    });
    expect(wrong.json().code).toBe('MQ_ERR_CSRF');
    const ok = await t.app.inject({ method: 'PUT', url: '/api/v1/network', headers: t.admin.headers, payload });
    expect(ok.statusCode).toBe(200);
    // reads need no CSRF token
    const read = await t.app.inject({ method: 'GET', url: '/api/v1/network', headers: cookieOnly });
    expect(read.statusCode).toBe(200);
  });

  it('an expired session gets 401 MQ_ERR_SESSION_EXPIRED and the cookie is cleared', async () => {
    const u = await t.createUser({ role: 'readonly' });
    const token = u.headers['cookie']!.split('=')[1]!;
    await t.store.credentials.touchSession(sha256Hex(token), new Date(Date.now() - 1000));
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: u.headers });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('MQ_ERR_SESSION_EXPIRED');
    expect(String(res.headers['set-cookie'])).toMatch(/^marquee_session=;/);
    // an expired cookie does not stand in the way of signing in again
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { cookie: u.headers['cookie']! },
      payload: { email: u.user.email, password: u.password },
    });
    expect(again.statusCode).toBe(200);
  });

  it('slides the expiry forward with activity', async () => {
    const u = await t.createUser({ role: 'readonly' });
    clock += 3600_000;
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: u.headers });
    expect(res.statusCode).toBe(200);
    expect(Date.parse(res.json().expiresAt)).toBe(clock + t.config.sessionTtlSeconds * 1000);
    expect(String(res.headers['set-cookie'])).toContain('marquee_session=');
  });

  it('logout ends the session', async () => {
    const u = await t.createUser({ role: 'readonly' });
    const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: u.headers });
    expect(out.statusCode).toBe(204);
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: u.headers });
    expect(me.statusCode).toBe(401);
  });

  it('changing my password ends my other sessions and keeps me signed in', async () => {
    const u = await t.createUser({ role: 'readonly' });
    const second = await t.login(u.user.email, u.password);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers: u.headers,
      payload: { currentPassword: u.password, newPassword: 'a much better password' },
    });
    expect(res.statusCode).toBe(200);
    const fresh = sessionHeaders(res.headers['set-cookie'], res.json().csrfToken);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: fresh })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: second })).statusCode).toBe(401);
    expect((await login(u.user.email, 'a much better password')).statusCode).toBe(200);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers: fresh,
      payload: { currentPassword: 'nope nope', newPassword: 'another password' },
    });
    expect(wrong.statusCode).toBe(422);
  });
});

describe('API keys', () => {
  it('a write key can write without CSRF; a read key cannot write', async () => {
    const write = await t.apiKey(t.admin.headers, 'write');
    const read = await t.apiKey(t.admin.headers, 'read');
    expect(write.secret).toMatch(/^mq_[A-Za-z0-9_-]{43}$/);
    const payload = { name: 'Keyed', currency: 'USD', timeZone: 'UTC' };
    const w = await t.app.inject({ method: 'PUT', url: '/api/v1/network', headers: write.headers, payload });
    expect(w.statusCode).toBe(200);
    const r = await t.app.inject({ method: 'PUT', url: '/api/v1/network', headers: read.headers, payload });
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('MQ_ERR_FORBIDDEN');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/network', headers: read.headers })).statusCode).toBe(200);
  });

  it('records lastUsedAt', async () => {
    const key = await t.apiKey(t.admin.headers, 'read');
    await t.app.inject({ method: 'GET', url: '/api/v1/network', headers: key.headers });
    // the write is off the request path; poll the store until it lands
    let lastUsedAt: string | null = null;
    for (let i = 0; i < 50 && lastUsedAt === null; i++) {
      const keys = await t.store.credentials.listApiKeys(t.admin.user.id);
      lastUsedAt = keys.find((k) => k.id === key.id)?.lastUsedAt ?? null;
      if (lastUsedAt === null) await new Promise((r) => setTimeout(r, 20));
    }
    expect(lastUsedAt).not.toBeNull();
  });

  it('a revoked, unknown or malformed key gets 401 MQ_ERR_BAD_API_KEY', async () => {
    const key = await t.apiKey(t.admin.headers, 'write');
    const revoke = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${key.id}`,
      headers: t.admin.headers,
    });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json().status).toBe('revoked');
    for (const authorization of [
      key.headers.authorization!,
      `Bearer mq_${'A'.repeat(43)}`,
      'Bearer nonsense',
      'Basic abc',
    ]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/network', headers: { authorization } });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('MQ_ERR_BAD_API_KEY');
    }
  });

  it('an expired key is refused', async () => {
    const expiresAt = new Date(clock + 3600_000).toISOString();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: t.admin.headers,
      payload: { name: 'short-lived', scope: 'read', expiresAt },
    });
    expect(res.statusCode).toBe(201);
    const headers = { authorization: `Bearer ${res.json().secret}` };
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/network', headers })).statusCode).toBe(200);
    clock += 2 * 3600_000;
    const expired = await t.app.inject({ method: 'GET', url: '/api/v1/network', headers });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().code).toBe('MQ_ERR_BAD_API_KEY');
  });

  it('an API key cannot create more keys', async () => {
    const key = await t.apiKey(t.admin.headers, 'write');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: key.headers,
      payload: { name: 'child', scope: 'write' },
    });
    expect(res.statusCode).toBe(403);
  });
});

describe('login throttling', () => {
  it('blocks an account after repeated failures, from any IP, with Retry-After', async () => {
    const u = await t.createUser({ role: 'readonly' });
    for (let i = 0; i < 3; i++) {
      expect((await login(u.user.email, 'wrong password', `10.1.0.${i}`)).statusCode).toBe(401);
    }
    const blocked = await login(u.user.email, u.password, '10.1.0.99');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('MQ_ERR_RATE_LIMITED');
    expect(Number(blocked.headers['retry-after'])).toBe(900);
    clock += 901_000;
    expect((await login(u.user.email, u.password, '10.1.0.99')).statusCode).toBe(200);
  });

  it('blocks an IP after failures across accounts', async () => {
    const u = await t.createUser({ role: 'readonly' });
    for (let i = 0; i < 6; i++) {
      expect((await login(`guess${i}@example.com`, 'x', '10.2.0.1')).statusCode).toBe(401);
    }
    const blocked = await login(u.user.email, u.password, '10.2.0.1');
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login(u.user.email, u.password, '10.2.0.2')).statusCode).toBe(200);
  });
});
