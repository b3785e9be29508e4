/**
 * Security headers, computed ONCE at start with helmet's own rules and then copied onto every reply (by the
 * app's onRequest hook).
 * (@fastify/helmet rebuilds helmet's middleware on every request: 8% of the decision API's CPU in a profile.)
 * Routes that render pages (API docs, dashboard, demo page, asset bundles) set their own
 * Content-Security-Policy header in the handler, which replaces this default.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

export function computeSecurityHeaders(options: Readonly<HelmetOptions>): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let error: unknown;
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => {
    error = err;
  });
  if (error) throw error;
  return Object.freeze(headers);
}

/** The headers of every API answer (the main app and the cluster's workers): nothing to render, no framing. */
export function apiSecurityHeaders(secureCookies: boolean): Readonly<Record<string, string>> {
  return computeSecurityHeaders({
    // An API: nothing to render, except the pages that set their own policy (docs, dashboard, demo).
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    crossOriginResourcePolicy: { policy: 'same-site' },
    hsts: secureCookies ? { maxAge: 31_536_000, includeSubDomains: false } : false,
  });
}
