import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../../testing/test-app.ts';

let t: TestApp;
let advertiserId: string;
let publisherId: string;
let advertiserUser: TestUser;
const system = { userId: null, label: 'test' };

beforeAll(async () => {
  t = await createTestApp();
  const adv = await t.store.repos.advertiser.create(
    { name: 'Acme', status: 'active', currency: 'USD', categories: [] },
    system,
  );
  const pub = await t.store.repos.publisher.create(
    { name: 'Daily News', status: 'active', revenueShareBps: 7000, blockedCategories: [], blockedAdvertiserIds: [] },
    system,
  );
  if (adv.kind !== 'ok' || pub.kind !== 'ok') throw new Error('seed failed');
  advertiserId = adv.entity.id;
  publisherId = pub.entity.id;
  advertiserUser = await t.createUser({ role: 'advertiser', advertiserIds: [advertiserId] });
});
afterAll(async () => {
  await t?.close();
});

const post = (url: string, headers: Record<string, string>, payload: object) =>
  t.app.inject({ method: 'POST', url, headers, payload });

describe('users', () => {
  it('an admin creates a user with a generated password, returned once, never a hash', async () => {
    const res = await post('/api/v1/users', t.admin.headers, {
      email: 'Trafficker@Example.com',
      name: 'Trafficker',
      role: 'advertiser',
      advertiserIds: [advertiserId],
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.user).toMatchObject({ email: 'trafficker@example.com', role: 'advertiser', status: 'active' });
    expect(body.password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(JSON.stringify(body)).not.toContain('argon2');
    const headers = await t.login('trafficker@example.com', body.password);
    const got = await t.app.inject({ method: 'GET', url: `/api/v1/users/${body.user.id}`, headers: t.admin.headers });
    expect(got.json().passwordHash).toBeUndefined();
    expect(headers['cookie']).toContain('marquee_session=');
  });

  it('creates with a given password (no password in the answer)', async () => {
    const res = await post('/api/v1/users', t.admin.headers, {
      email: 'viewer@example.com',
      name: 'Viewer',
      role: 'readonly',
      password: 'viewer password 1',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().password).toBeUndefined();
    await t.login('viewer@example.com', 'viewer password 1');
  });

  it('an advertiser user needs at least one existing advertiser', async () => {
    const none = await post('/api/v1/users', t.admin.headers, {
      email: 'x1@example.com',
      name: 'X',
      role: 'advertiser',
    });
    expect(none.statusCode).toBe(422);
    expect(none.json().details[0]).toMatchObject({ path: '/advertiserIds' });
    const missing = await post('/api/v1/users', t.admin.headers, {
      email: 'x2@example.com',
      name: 'X',
      role: 'advertiser',
      advertiserIds: ['adv_doesnotexist'],
    });
    expect(missing.statusCode).toBe(422);
    expect(missing.json().details[0]).toMatchObject({ path: '/advertiserIds/0', code: 'not_found' });
    const publisherIdsOnAdmin = await post('/api/v1/users', t.admin.headers, {
      email: 'x3@example.com',
      name: 'X',
      role: 'admin',
      publisherIds: [publisherId],
    });
    expect(publisherIdsOnAdmin.statusCode).toBe(422);
  });

  it('a duplicate email is a 409', async () => {
    const res = await post('/api/v1/users', t.admin.headers, {
      email: t.admin.user.email,
      name: 'Again',
      role: 'admin',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('MQ_ERR_DUPLICATE');
  });

  it('updates role and tenants with optimistic concurrency', async () => {
    const created = (
      await post('/api/v1/users', t.admin.headers, { email: 'mover@example.com', name: 'Mover', role: 'readonly' })
    ).json().user;
    const noVersion = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${created.id}`,
      headers: t.admin.headers,
      payload: { name: 'Renamed' },
    });
    expect(noVersion.statusCode).toBe(428);
    const ok = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${created.id}`,
      headers: { ...t.admin.headers, 'if-match': `"${created.version}"` },
      payload: { role: 'publisher', publisherIds: [publisherId] },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ role: 'publisher', publisherIds: [publisherId], version: created.version + 1 });
    const stale = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${created.id}`,
      headers: t.admin.headers,
      payload: { version: created.version, name: 'Stale' },
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe('MQ_ERR_CONFLICT');
  });

  it('disabling a user ends their sessions; archiving hides them from the list', async () => {
    const u = await t.createUser({ role: 'readonly' });
    const disable = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${u.user.id}`,
      headers: t.admin.headers,
      payload: { version: u.user.version, status: 'disabled' },
    });
    expect(disable.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: u.headers })).statusCode).toBe(401);
    const archive = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${u.user.id}`,
      headers: t.admin.headers,
    });
    expect(archive.json().status).toBe('archived');
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/users?limit=500', headers: t.admin.headers });
    expect(list.json().items.map((x: { id: string }) => x.id)).not.toContain(u.user.id);
  });

  it('an admin cannot demote, disable or archive themself', async () => {
    const me = t.admin.user;
    const demote = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${me.id}`,
      headers: t.admin.headers,
      payload: { version: me.version, role: 'readonly' },
    });
    expect(demote.statusCode).toBe(422);
    const archive = await t.app.inject({ method: 'DELETE', url: `/api/v1/users/${me.id}`, headers: t.admin.headers });
    expect(archive.statusCode).toBe(422);
  });

  it('resets a password: old sessions end, the new password works', async () => {
    const u = await t.createUser({ role: 'readonly' });
    const res = await post(`/api/v1/users/${u.user.id}/password`, t.admin.headers, {});
    expect(res.statusCode).toBe(200);
    const password = res.json().password as string;
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: u.headers })).statusCode).toBe(401);
    await t.login(u.user.email, password);
  });

  it('lists with pagination and filters', async () => {
    const first = await t.app.inject({ method: 'GET', url: '/api/v1/users?limit=2', headers: t.admin.headers });
    const page = first.json();
    expect(page.items).toHaveLength(2);
    expect(page.total).toBeGreaterThan(2);
    const second = await t.app.inject({
      method: 'GET',
      url: `/api/v1/users?limit=2&cursor=${encodeURIComponent(page.nextCursor)}`,
      headers: t.admin.headers,
    });
    expect(second.json().items[0].id).not.toBe(page.items[0].id);
    const admins = await t.app.inject({ method: 'GET', url: '/api/v1/users?role=admin', headers: t.admin.headers });
    expect(admins.json().items.every((u: { role: string }) => u.role === 'admin')).toBe(true);
    const badCursor = await t.app.inject({
      method: 'GET',
      url: '/api/v1/users?cursor=garbage',
      headers: t.admin.headers,
    });
    expect(badCursor.statusCode).toBe(400);
  });

  it('non-admins get 403 on every user route, including read-only users', async () => {
    const readonly = await t.createUser({ role: 'readonly' });
    for (const headers of [advertiserUser.headers, readonly.headers]) {
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/users', headers })).statusCode).toBe(403);
      expect((await t.app.inject({ method: 'GET', url: `/api/v1/users/${t.admin.user.id}`, headers })).statusCode).toBe(
        403,
      );
      expect(
        (await post('/api/v1/users', headers, { email: 'e@example.com', name: 'E', role: 'admin' })).statusCode,
      ).toBe(403);
    }
  });
});

describe('API key management', () => {
  it('users see only their own keys; admins see all; others’ keys are 404 to revoke', async () => {
    const mine = await t.apiKey(advertiserUser.headers, 'read');
    const adminKey = await t.apiKey(t.admin.headers, 'read');
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: advertiserUser.headers });
    const ids = list.json().items.map((k: { id: string }) => k.id);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(adminKey.id);
    const other = await t.app.inject({
      method: 'GET',
      url: `/api/v1/api-keys?userId=${t.admin.user.id}`,
      headers: advertiserUser.headers,
    });
    expect(other.statusCode).toBe(403);
    const steal = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${adminKey.id}`,
      headers: advertiserUser.headers,
    });
    expect(steal.statusCode).toBe(404);
    const all = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: t.admin.headers });
    expect(all.json().items.map((k: { id: string }) => k.id)).toEqual(expect.arrayContaining([mine.id, adminKey.id]));
    const revoke = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${mine.id}`,
      headers: t.admin.headers,
    });
    expect(revoke.statusCode).toBe(200);
  });

  it('the secret is never listed', async () => {
    const key = await t.apiKey(t.admin.headers, 'read');
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: t.admin.headers });
    expect(list.body).not.toContain(key.secret);
    expect(list.json().items.find((k: { id: string }) => k.id === key.id).prefix).toBe(key.secret.slice(0, 9));
  });

  it('a read-only user may create read keys only; expiry must be in the future', async () => {
    const readonly = await t.createUser({ role: 'readonly' });
    const write = await post('/api/v1/api-keys', readonly.headers, { name: 'w', scope: 'write' });
    expect(write.statusCode).toBe(403);
    const past = await post('/api/v1/api-keys', readonly.headers, {
      name: 'old',
      scope: 'read',
      expiresAt: '2001-01-01T00:00:00Z',
    });
    expect(past.statusCode).toBe(422);
  });
});

describe('audit log and network', () => {
  it('admins read the audit log with filters and a cursor; others get 403', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/api/v1/audit-log?limit=2', headers: t.admin.headers });
    expect(page.statusCode).toBe(200);
    expect(page.json().items).toHaveLength(2);
    expect(page.json().nextCursor).not.toBeNull();
    const next = await t.app.inject({
      method: 'GET',
      url: `/api/v1/audit-log?limit=2&cursor=${encodeURIComponent(page.json().nextCursor)}`,
      headers: t.admin.headers,
    });
    expect(next.statusCode).toBe(200);
    expect(next.json().items[0].id).not.toBe(page.json().items[0].id);
    const users = await t.app.inject({ method: 'GET', url: '/api/v1/audit-log?kind=user', headers: t.admin.headers });
    expect(users.json().items.every((e: { kind: string }) => e.kind === 'user')).toBe(true);
    const denied = await t.app.inject({ method: 'GET', url: '/api/v1/audit-log', headers: advertiserUser.headers });
    expect(denied.statusCode).toBe(403);
  });

  it('everyone signed in reads network settings; only admins change them', async () => {
    const read = await t.app.inject({ method: 'GET', url: '/api/v1/network', headers: advertiserUser.headers });
    expect(read.statusCode).toBe(200);
    const payload = { name: 'My Network', currency: 'EUR', timeZone: 'Europe/Berlin' };
    const denied = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/network',
      headers: advertiserUser.headers,
      payload,
    });
    expect(denied.statusCode).toBe(403);
    const ok = await t.app.inject({ method: 'PUT', url: '/api/v1/network', headers: t.admin.headers, payload });
    expect(ok.json()).toEqual(payload);
    const badZone = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/network',
      headers: t.admin.headers,
      payload: { ...payload, timeZone: 'Mars/Olympus' },
    });
    expect(badZone.statusCode).toBe(422);
  });
});
