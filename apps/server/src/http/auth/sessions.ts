/**
 * Browser sessions: a random 256-bit token in the `marquee_session` cookie; the store keeps only its SHA-256
 * (the session id), the user, a CSRF token and the expiry. Expiry slides: activity pushes it to now + TTL,
 * written at most once a minute per session.
 */
import type { Credentials } from '@marquee/store';
import { newToken, sha256Hex } from './tokens.ts';

export interface ResolvedSession {
  readonly sessionId: string;
  readonly userId: string;
  readonly csrfToken: string;
  readonly expiresAt: Date;
  /** True when the expiry was pushed forward by this request (re-send the cookie). */
  readonly renewed: boolean;
}

export interface SessionManager {
  start(userId: string): Promise<{ token: string; sessionId: string; csrfToken: string; expiresAt: Date }>;
  /** The live session of a cookie token, or undefined when unknown, ended or expired. */
  resolve(token: string): Promise<ResolvedSession | undefined>;
  end(token: string): Promise<void>;
  readonly ttlSeconds: number;
}

const RENEW_EVERY_MS = 60_000;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function createSessionManager(options: {
  credentials: Credentials;
  ttlSeconds: number;
  now?: () => number;
}): SessionManager {
  const { credentials, ttlSeconds } = options;
  const now = options.now ?? Date.now;
  const ttlMs = ttlSeconds * 1000;
  return {
    ttlSeconds,
    async start(userId) {
      const token = newToken();
      const sessionId = sha256Hex(token);
      const csrfToken = newToken();
      const expiresAt = new Date(now() + ttlMs);
      await credentials.createSession({ id: sessionId, userId, csrfToken, expiresAt });
      return { token, sessionId, csrfToken, expiresAt };
    },
    async resolve(token) {
      if (!TOKEN_SHAPE.test(token)) return undefined;
      const sessionId = sha256Hex(token);
      const session = await credentials.getSession(sessionId);
      const t = now();
      if (!session || session.expiresAt.getTime() <= t) return undefined;
      const next = t + ttlMs;
      if (next - session.expiresAt.getTime() >= RENEW_EVERY_MS) {
        const expiresAt = new Date(next);
        await credentials.touchSession(sessionId, expiresAt);
        return { sessionId, userId: session.userId, csrfToken: session.csrfToken, expiresAt, renewed: true };
      }
      return { sessionId, ...session, renewed: false };
    },
    async end(token) {
      await credentials.deleteSession(sha256Hex(token));
    },
  };
}
