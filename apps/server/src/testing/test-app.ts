/**
 * The harness of every HTTP test: the real app on the real store (PGlite in memory, or PostgreSQL in a
 * schema of its own that close() drops), driven with app.inject() (no sockets).
 *
 * @example
 *   const t = await createTestApp();
 *   const res = await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: t.admin.headers });
 *   await t.close();
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role, User } from '@marquee/core';
import { createStore, type Store } from '@marquee/store';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { createApp } from '../app.ts';
import type { Config } from '../config.ts';
import type { App } from '../deps.ts';
import { createFirstAdmin } from '../first-start.ts';
import type { LoginThrottle } from '../http/auth/login-throttle.ts';
import { hashPassword } from '../http/auth/passwords.ts';
import { SESSION_COOKIE } from '../http/auth/session-cookie.ts';
import { createLifecycle } from '../lifecycle/lifecycle.ts';

export type TestBackend = 'pglite' | 'postgres';

export interface TestAppOptions {
  /** Default: env MARQUEE_TEST_BACKEND, else pglite. */
  readonly backend?: TestBackend;
  readonly config?: Partial<Config>;
  readonly now?: () => number;
  readonly loginThrottle?: LoginThrottle;
  /** Default: pino at MARQUEE_TEST_LOG_LEVEL (silent). */
  readonly logger?: FastifyBaseLogger;
}

/** Headers that authenticate a request: session cookie + CSRF token, or an API key. */
export type AuthHeaders = Record<string, string>;

export interface TestUser {
  readonly user: User;
  readonly password: string;
  readonly headers: AuthHeaders;
}

export interface TestApp {
  readonly app: App;
  readonly store: Store;
  readonly config: Config;
  readonly backend: TestBackend;
  readonly admin: TestUser;
  /** A user of the role (tenants must exist for advertiser/publisher), signed in. */
  createUser(options: {
    role: Role;
    advertiserIds?: string[];
    publisherIds?: string[];
    email?: string;
    status?: User['status'];
  }): Promise<TestUser>;
  /** Signs in through POST /api/v1/auth/login; returns the cookie + CSRF headers. */
  login(email: string, password: string): Promise<AuthHeaders>;
  /** Creates an API key for the user behind `headers` (a session) through the API. */
  apiKey(headers: AuthHeaders, scope?: 'read' | 'write'): Promise<{ id: string; secret: string; headers: AuthHeaders }>;
  close(): Promise<void>;
}

export const TEST_DATABASE_URL = process.env['MARQUEE_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export function testBackend(): TestBackend {
  return process.env['MARQUEE_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'pglite';
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({
    port: 0,
    host: '127.0.0.1',
    dataDir: './data',
    databaseUrl: undefined,
    publicUrl: 'http://localhost:8080',
    adminEmail: 'admin@example.com',
    adminPassword: undefined,
    loadDemoData: false,
    logLevel: 'silent',
    bodyLimitBytes: 1024 * 1024,
    uploadLimitBytes: 10 * 1024 * 1024,
    sessionTtlSeconds: 8 * 3600,
    secureCookies: false,
    rateLimitPerMinute: 1_000_000,
    trustProxy: false,
    loginMaxFailuresPerAccount: 5,
    loginMaxFailuresPerIp: 20,
    loginWindowSeconds: 900,
    shutdownTimeoutMs: 10_000,
    ...overrides,
  });
}

/** Cookie + CSRF headers from a login response. */
export function sessionHeaders(setCookie: string | string[] | undefined, csrfToken: string): AuthHeaders {
  const cookies = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const session = cookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (!session) throw new Error('login did not set the session cookie');
  return { cookie: session.split(';')[0]!, 'x-csrf-token': csrfToken };
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const backend = options.backend ?? testBackend();
  const schema = `t_server_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const store =
    backend === 'postgres' ? await createStore({ databaseUrl: TEST_DATABASE_URL, schema }) : await createStore({});
  // Uploaded asset bytes go under dataDir: a temporary directory per test app, removed by close().
  const tempDir = options.config?.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'marquee-test-')) : undefined;
  const config = testConfig({ ...(tempDir ? { dataDir: tempDir } : {}), ...options.config });
  const logger = options.logger ?? pino({ level: process.env['MARQUEE_TEST_LOG_LEVEL'] ?? 'silent' });
  const app = await createApp(
    { config, store, logger },
    {
      lifecycle: createLifecycle(),
      ...(options.now ? { now: options.now } : {}),
      ...(options.loginThrottle ? { loginThrottle: options.loginThrottle } : {}),
    },
  );
  await app.ready();

  async function login(email: string, password: string): Promise<AuthHeaders> {
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
    if (res.statusCode !== 200) throw new Error(`login of ${email} failed: ${res.statusCode} ${res.body}`);
    return sessionHeaders(res.headers['set-cookie'], res.json().csrfToken);
  }

  const adminPassword = `admin-${randomBytes(8).toString('hex')}`;
  const { user: adminUser } = await createFirstAdmin(store, config.adminEmail, adminPassword);
  const admin: TestUser = {
    user: adminUser,
    password: adminPassword,
    headers: await login(config.adminEmail, adminPassword),
  };

  let counter = 0;
  return {
    app,
    store,
    config,
    backend,
    admin,
    login,
    async createUser({ role, advertiserIds = [], publisherIds = [], email, status = 'active' }) {
      const address = email ?? `${role}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;
      const password = `pw-${randomBytes(8).toString('hex')}`;
      const result = await store.repos.user.create(
        { email: address, name: `Test ${role}`, status: 'active', role, advertiserIds, publisherIds },
        { userId: null, label: 'test' },
      );
      if (result.kind !== 'ok') throw new Error(`could not create user ${address}: ${result.kind}`);
      await store.credentials.setPasswordHash(result.entity.id, await hashPassword(password), {
        userId: null,
        label: 'test',
      });
      const headers = await login(address, password);
      let user = result.entity;
      if (status !== 'active') {
        const [changed] = await store.repos.user.setStatus(
          [user.id],
          status,
          { kind: 'all' },
          { userId: null, label: 'test' },
        );
        if (changed) user = changed;
      }
      return { user, password, headers };
    },
    async apiKey(headers, scope = 'write') {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/api-keys',
        headers,
        payload: { name: `test key ${++counter}`, scope },
      });
      if (res.statusCode !== 201) throw new Error(`could not create an API key: ${res.statusCode} ${res.body}`);
      const body = res.json();
      return { id: body.apiKey.id, secret: body.secret, headers: { authorization: `Bearer ${body.secret}` } };
    },
    async close() {
      await app.close();
      await store.close();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      if (backend === 'postgres') {
        const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await client.connect();
        try {
          await client.query(`drop schema if exists "${schema}" cascade`);
        } finally {
          await client.end();
        }
      }
    },
  };
}
