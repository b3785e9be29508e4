/** Sign-in with email and password (session cookie + CSRF token), sign-out, who am I, change my password. */
import { User } from '@marquee/core';
import { ALL, type Store } from '@marquee/store';
import { Type } from 'typebox';
import type { RouteModule } from '../../deps.ts';
import { actorOf, principalOf, requireAuth } from '../auth/guards.ts';
import type { LoginThrottle } from '../auth/login-throttle.ts';
import {
  hashPassword,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  verifyDummy,
  verifyPassword,
} from '../auth/passwords.ts';
import { SESSION_COOKIE, sessionCookieOptions } from '../auth/session-cookie.ts';
import type { SessionManager } from '../auth/sessions.ts';
import { MarqueeError } from '../errors.ts';
import { AUTHENTICATED, PUBLIC } from '../schemas.ts';

const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }),
  },
  { additionalProperties: false },
);

const SessionView = Type.Object(
  {
    user: User,
    csrfToken: Type.Union([Type.String(), Type.Null()], {
      description: 'Send it as the x-csrf-token header on every POST, PUT, PATCH and DELETE (null for API keys)',
    }),
    expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    via: Type.Enum(['session', 'api_key']),
  },
  { additionalProperties: false },
);

const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }),
    newPassword: Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH }),
  },
  { additionalProperties: false },
);

async function recordLogin(store: Store, userId: string, email: string, requestId: string): Promise<void> {
  await store.audit.record({
    actor: email,
    userId,
    requestId,
    action: 'login',
    kind: 'user',
    entityId: userId,
    before: null,
    after: null,
    advertiserId: null,
    publisherId: null,
  });
}

export function authRoutes(auth: { sessions: SessionManager; throttle: LoginThrottle }): RouteModule {
  const { sessions, throttle } = auth;
  return async (app, { store, config }) => {
    const cookieOptions = sessionCookieOptions(config.secureCookies, sessions.ttlSeconds);

    app.post(
      '/auth/login',
      {
        config: { csrf: false },
        schema: {
          summary: 'Sign in: sets the session cookie and returns the CSRF token',
          description:
            'Failed attempts are limited per account and per client IP (429 with Retry-After once exceeded).',
          tags: ['auth'],
          security: PUBLIC,
          body: LoginBody,
          response: { 200: SessionView },
        },
      },
      async (request, reply) => {
        const email = request.body.email.trim().toLowerCase();
        const ip = request.ip;
        const wait = await throttle.retryAfterSeconds(email, ip);
        if (wait > 0) {
          throw new MarqueeError('MQ_ERR_RATE_LIMITED', `Too many failed sign-ins; retry in ${wait} s`, [], {
            'retry-after': String(wait),
          });
        }
        const user = await store.credentials.findUserByEmail(email);
        const ok =
          user?.passwordHash != null
            ? await verifyPassword(user.passwordHash, request.body.password)
            : await verifyDummy(request.body.password);
        if (!user || !ok || user.status !== 'active') {
          await throttle.recordFailure(email, ip);
          request.log.info({ email }, 'sign-in failed');
          throw new MarqueeError('MQ_ERR_BAD_CREDENTIALS');
        }
        await throttle.recordSuccess(email, ip);
        const session = await sessions.start(user.id);
        await recordLogin(store, user.id, user.email, request.id);
        reply.setCookie(SESSION_COOKIE, session.token, cookieOptions);
        const { passwordHash: _omit, ...view } = user;
        return {
          user: view,
          csrfToken: session.csrfToken,
          expiresAt: session.expiresAt.toISOString(),
          via: 'session' as const,
        };
      },
    );

    app.post(
      '/auth/logout',
      {
        preHandler: requireAuth,
        schema: {
          summary: 'Sign out: ends the session and clears the cookie',
          tags: ['auth'],
          security: AUTHENTICATED,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const token = request.cookies[SESSION_COOKIE];
        if (principalOf(request).via === 'session' && token) await sessions.end(token);
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/auth/me',
      {
        preHandler: requireAuth,
        schema: {
          summary: 'The signed-in user, with the CSRF token of the session',
          tags: ['auth'],
          security: AUTHENTICATED,
          response: { 200: SessionView },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const user = await store.repos.user.get(principal.userId, ALL);
        if (!user) throw new MarqueeError('MQ_ERR_UNAUTHENTICATED');
        const session = principal.sessionId ? await store.credentials.getSession(principal.sessionId) : undefined;
        return {
          user,
          csrfToken: session?.csrfToken ?? null,
          expiresAt: session ? session.expiresAt.toISOString() : null,
          via: principal.via,
        };
      },
    );

    app.post(
      '/auth/password',
      {
        preHandler: requireAuth,
        schema: {
          summary: 'Change my password (ends my other sessions)',
          tags: ['auth'],
          security: AUTHENTICATED,
          body: ChangePasswordBody,
          response: { 200: SessionView },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        if (principal.via !== 'session') {
          throw new MarqueeError('MQ_ERR_FORBIDDEN', 'Change a password from a signed-in session, not an API key');
        }
        const stored = await store.credentials.findUserByEmail(principal.email);
        const ok =
          stored?.passwordHash != null && (await verifyPassword(stored.passwordHash, request.body.currentPassword));
        if (!stored || !ok) {
          throw new MarqueeError('MQ_ERR_UNPROCESSABLE', 'The current password is wrong', [
            { path: '/currentPassword', message: 'is wrong', code: 'wrong_password' },
          ]);
        }
        await store.credentials.setPasswordHash(
          stored.id,
          await hashPassword(request.body.newPassword),
          actorOf(request),
        );
        await store.credentials.deleteSessionsOfUser(stored.id);
        const session = await sessions.start(stored.id);
        reply.setCookie(SESSION_COOKIE, session.token, cookieOptions);
        const { passwordHash: _omit, ...view } = stored;
        return {
          user: view,
          csrfToken: session.csrfToken,
          expiresAt: session.expiresAt.toISOString(),
          via: 'session' as const,
        };
      },
    );
  };
}
