import type { CookieSerializeOptions } from '@fastify/cookie';

export const SESSION_COOKIE = 'marquee_session';
export const CSRF_HEADER = 'x-csrf-token';

/** httpOnly (no script access), SameSite=Lax (not sent on cross-site POSTs), Secure behind TLS. */
export function sessionCookieOptions(secure: boolean, maxAgeSeconds: number): CookieSerializeOptions {
  return { httpOnly: true, sameSite: 'lax', path: '/', secure, maxAge: maxAgeSeconds };
}
