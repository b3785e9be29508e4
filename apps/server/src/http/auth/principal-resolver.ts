/**
 * Resolves who is calling, for every /api request, before the body is read: a Bearer API key, else the
 * session cookie. Sets `request.principal` (or leaves it null and remembers why in `request.authFailure`,
 * which requireAuth reports). Cookie-authenticated writes must carry the session's CSRF token.
 */
import type { Role, User } from '@marquee/core';
import { ALL, type Scope, type Store } from '@marquee/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../deps.ts';
import { type ErrorCode, MarqueeError } from '../errors.ts';
import type { Principal } from '../principal.ts';
import type { ApiKeyManager } from './api-keys.ts';
import { CSRF_HEADER, SESSION_COOKIE, sessionCookieOptions } from './session-cookie.ts';
import type { SessionManager } from './sessions.ts';
import { safeEqual } from './tokens.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Why the credentials sent were refused (null when none were sent or they were good). */
    authFailure: ErrorCode | null;
  }
  interface FastifyContextConfig {
    /** false: cookie-authenticated writes to this route need no CSRF token (login). */
    csrf?: boolean;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function scopeFor(role: Role, advertiserIds: readonly string[], publisherIds: readonly string[]): Scope {
  if (role === 'admin' || role === 'readonly') return ALL;
  return {
    kind: 'tenant',
    advertiserIds: role === 'advertiser' ? [...advertiserIds] : [],
    publisherIds: role === 'publisher' ? [...publisherIds] : [],
  };
}

export function principalFor(
  user: User,
  via: { kind: 'session'; sessionId: string } | { kind: 'api_key'; apiKeyId: string; scope: 'read' | 'write' },
): Principal {
  return {
    userId: user.id,
    email: user.email,
    role: user.role,
    advertiserIds: user.advertiserIds,
    publisherIds: user.publisherIds,
    scope: scopeFor(user.role, user.advertiserIds, user.publisherIds),
    canWrite: user.role !== 'readonly' && (via.kind === 'session' || via.scope === 'write'),
    via: via.kind,
    apiKeyId: via.kind === 'api_key' ? via.apiKeyId : null,
    sessionId: via.kind === 'session' ? via.sessionId : null,
  };
}

export interface PrincipalResolverOptions {
  readonly store: Store;
  readonly sessions: SessionManager;
  readonly apiKeys: ApiKeyManager;
  readonly secureCookies: boolean;
}

export function registerPrincipalResolver(app: App, options: PrincipalResolverOptions): void {
  const { store, sessions, apiKeys, secureCookies } = options;
  app.decorateRequest('principal', null);
  app.decorateRequest('authFailure', null);

  async function activeUser(userId: string): Promise<User | undefined> {
    const user = await store.repos.user.get(userId, ALL);
    return user && user.status === 'active' ? user : undefined;
  }

  // Only the management API is authenticated here; serving routes (/v1, /t, tags) stay free of store lookups,
  // and of the promise an async hook costs on every request.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    if (!request.url.startsWith('/api/')) return done();
    // The cookie plugin runs without its own parsing hook (app.ts): the management API's cookies are parsed here.
    const header = request.headers.cookie;
    request.cookies = header ? app.parseCookie(header) : {};
    resolvePrincipal(request, reply).then(() => done(), done);
  });

  async function resolvePrincipal(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      const key = match ? await apiKeys.resolve(match[1]!) : undefined;
      const user = key ? await activeUser(key.userId) : undefined;
      if (!key || !user) {
        request.authFailure = 'MQ_ERR_BAD_API_KEY';
        return;
      }
      request.principal = principalFor(user, { kind: 'api_key', apiKeyId: key.id, scope: key.scope });
      return; // API keys are not sent by browsers on their own: no CSRF check.
    }

    const token = request.cookies[SESSION_COOKIE];
    if (token === undefined || token === '') return;
    const session = await sessions.resolve(token);
    const user = session ? await activeUser(session.userId) : undefined;
    if (!session || !user) {
      request.authFailure = 'MQ_ERR_SESSION_EXPIRED';
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return;
    }
    if (session.renewed) {
      reply.setCookie(SESSION_COOKIE, token, sessionCookieOptions(secureCookies, sessions.ttlSeconds));
    }
    request.principal = principalFor(user, { kind: 'session', sessionId: session.sessionId });

    if (!SAFE_METHODS.has(request.method) && request.routeOptions.config?.csrf !== false) {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !safeEqual(sent, session.csrfToken)) throw new MarqueeError('MQ_ERR_CSRF');
    }
  }
}
