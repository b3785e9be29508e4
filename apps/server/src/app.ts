/**
 * The HTTP composition root: one Fastify instance with validation, errors, request ids, logs, security headers,
 * CORS for the public serving routes, rate limits, auth, metrics and OpenAPI, and every route module under /api/v1.
 */

import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { TARGETING_JSON_SCHEMA } from '@marquee/core';
import { createRollupConsumer, type RollupConsumer } from '@marquee/reporting';
import Fastify, { type FastifyPluginAsync, type RouteOptions } from 'fastify';
import { Redis } from 'ioredis';
import { createBlobStorage } from './assets/create-blob-storage.ts';
import { type BillingRuntime, createBillingRuntime } from './billing/billing-runtime.ts';
import { CONFIG_DEFAULTS } from './config.ts';
import type { App, AppDeps, RouteModule } from './deps.ts';
import { createApiKeyManager } from './http/auth/api-keys.ts';
import { InMemoryLoginThrottle, type LoginThrottle } from './http/auth/login-throttle.ts';
import { registerPrincipalResolver } from './http/auth/principal-resolver.ts';
import { RedisLoginThrottle } from './http/auth/redis-login-throttle.ts';
import { createSessionManager } from './http/auth/sessions.ts';
import { registerErrorHandlers } from './http/error-handler.ts';
import { MarqueeError } from './http/errors.ts';
import { marqueeFastifyOptions } from './http/fastify-options.ts';
import { createHttpMetrics, type HttpMetrics, registerMetrics } from './http/metrics.ts';
import { addErrorResponses, registerOpenApi } from './http/openapi.ts';
import { applyPublicCors } from './http/public-cors.ts';
import { REQUEST_ID_HEADER } from './http/request-id.ts';
import { createRouteIndex } from './http/route-index.ts';
import { apiKeyRoutes } from './http/routes/api-keys.ts';
import { assetFileRoutes, assetRoutes } from './http/routes/assets.ts';
import { auditRoutes } from './http/routes/audit.ts';
import { authRoutes } from './http/routes/auth.ts';
import { billingRoutes } from './http/routes/billing.ts';
import { dashboardRoutes } from './http/routes/dashboard.ts';
import { entityRoutes } from './http/routes/entities.ts';
import { eventExportRoutes } from './http/routes/event-export.ts';
import { healthRoutes } from './http/routes/health.ts';
import { networkRoutes } from './http/routes/network.ts';
import { reportRoutes } from './http/routes/reports.ts';
import { userRoutes } from './http/routes/users.ts';
import { apiSecurityHeaders } from './http/security-headers.ts';
import { createLifecycle, type Lifecycle } from './lifecycle/lifecycle.ts';
import { registerServing, type Serving } from './serving/serving.ts';
import { createTracking, type Tracking } from './tracking/tracking.ts';

export const API_PREFIX = '/api/v1';
const VERSION = '0.1.0';

export interface AppOptions {
  /** Shared with main.ts so a signal can turn /health to 503 before the server stops. */
  readonly lifecycle?: Lifecycle;
  /** Failed-login counter; in-process by default (a shared one for several servers). */
  readonly loginThrottle?: LoginThrottle;
  /** Clock in epoch milliseconds for sessions, keys and the login throttle (tests inject one). */
  readonly now?: () => number;
  /** Prefix of the rate-limit and login-throttle keys in Redis (config.redisUrl); default "mq:". */
  readonly redisKeyPrefix?: string;
  /** Overrides config.trustProxy: a cluster primary trusts its workers on loopback (cluster/primary.ts). */
  readonly trustProxy?: boolean | string;
}

export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  readonly hidden: boolean;
}

const asPlugin =
  (module: RouteModule, deps: AppDeps): FastifyPluginAsync =>
  async (instance) =>
    module(instance as unknown as App, deps);

const registered = new WeakMap<object, RegisteredRoute[]>();
const servings = new WeakMap<object, Serving>();
/** The serving side of an app (snapshot state, decision service, signer, counters). */
export function servingOf(app: App): Serving {
  const serving = servings.get(app);
  if (!serving) throw new Error('app has no serving side');
  return serving;
}
const rollupConsumers = new WeakMap<object, RollupConsumer>();
/** The app's rollup consumer, when this process runs it (config `rollups`). */
export function rollupsOf(app: App): RollupConsumer | undefined {
  return rollupConsumers.get(app);
}
const httpMetrics = new WeakMap<object, HttpMetrics>();
/** The app's metrics registry (a cluster primary merges its workers' into GET /metrics). */
export function metricsOf(app: App): HttpMetrics {
  const m = httpMetrics.get(app);
  if (!m) throw new Error('not an app built by createApp');
  return m;
}

const trackings = new WeakMap<object, Tracking>();
/** The tracking side of an app: its event log (the rollups read it), deduplicator, attribution, service. */
export function trackingOf(app: App): Tracking {
  const tracking = trackings.get(app);
  if (!tracking) throw new Error('app has no tracking side');
  return tracking;
}
const billings = new WeakMap<object, BillingRuntime>();
/** The billing side of an app: the usage poster and the stopped-advertiser gate. */
export function billingOf(app: App): BillingRuntime {
  const billing = billings.get(app);
  if (!billing) throw new Error('app has no billing side');
  return billing;
}
/** Every route registered on an app (for the OpenAPI coverage test and diagnostics). */
export function registeredRoutes(app: App): readonly RegisteredRoute[] {
  return registered.get(app) ?? [];
}

export async function createApp(given: AppDeps, options: AppOptions = {}): Promise<App> {
  // One blob storage for every module (uploads write it, public asset files read it).
  const deps: AppDeps = { ...given, blobs: given.blobs ?? createBlobStorage(given.config) };
  const { config, store } = deps;
  const now = options.now ?? Date.now;
  const lifecycle = options.lifecycle ?? createLifecycle();

  const trustProxy = options.trustProxy ?? config.trustProxy ?? CONFIG_DEFAULTS.trustProxy;
  const app = Fastify(
    marqueeFastifyOptions(config, deps.logger, trustProxy),
  ).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  const routes: RegisteredRoute[] = [];
  registered.set(app, routes);
  const routeIndex = createRouteIndex();
  app.addHook('onRoute', (route: RouteOptions) => {
    addErrorResponses(route);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const hidden = Boolean((route.schema as { hide?: boolean } | undefined)?.hide);
    for (const method of methods) routes.push({ method, url: route.url, hidden });
    routeIndex.add(methods, route.url);
  });

  app.addSchema(TARGETING_JSON_SCHEMA);
  // Only JSON bodies (and multipart where an upload route registers it): a text/plain body is a 415, not a string.
  app.removeContentTypeParser('text/plain');

  registerErrorHandlers(app, routeIndex);

  const securityHeaders = apiSecurityHeaders(config.secureCookies);
  // One hook for the headers every answer carries (one hook-runner step per request instead of three): the
  // request id, the security headers, and CORS for the public serving routes (/v1/*, /t/*, called from any
  // page without credentials; /api/* gets no CORS).
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    reply.headers(securityHeaders);
    if (!applyPublicCors(request, reply)) done();
  });

  // With Redis, the per-IP limit and the login throttle are shared by every worker and server (docs/operations.md).
  const redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 2 }) : undefined;
  if (redis) app.addHook('onClose', async () => void (await redis.quit()));
  const redisPrefix = options.redisKeyPrefix ?? 'mq:';
  await app.register(rateLimit, {
    // Redis down: the API stays up without its per-IP limit rather than failing every request.
    ...(redis ? { redis, nameSpace: `${redisPrefix}rl:`, skipOnError: true } : {}),
    global: true,
    max: config.rateLimitPerMinute ?? CONFIG_DEFAULTS.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) =>
      new MarqueeError('MQ_ERR_RATE_LIMITED', `Too many requests; retry in ${context.after}`, [], {
        'retry-after': String(Math.ceil(context.ttl / 1000)),
      }),
  });

  // No parsing hook of its own: the principal resolver parses the cookies of /api requests, the only ones that
  // read them, so the public serving paths skip that hook and its per-request objects.
  await app.register(cookie, { hook: false });

  const metrics = createHttpMetrics();
  httpMetrics.set(app, metrics);
  registerMetrics(app, metrics, config.metricsToken ? { token: config.metricsToken } : {});

  await registerOpenApi(app, config.publicUrl, VERSION, config.secureCookies);

  const sessions = createSessionManager({ credentials: store.credentials, ttlSeconds: config.sessionTtlSeconds, now });
  const apiKeys = createApiKeyManager({ credentials: store.credentials, logger: deps.logger, now });
  const throttleOptions = {
    maxFailuresPerAccount: config.loginMaxFailuresPerAccount ?? CONFIG_DEFAULTS.loginMaxFailuresPerAccount,
    maxFailuresPerIp: config.loginMaxFailuresPerIp ?? CONFIG_DEFAULTS.loginMaxFailuresPerIp,
    windowSeconds: config.loginWindowSeconds ?? CONFIG_DEFAULTS.loginWindowSeconds,
    now,
  };
  const throttle =
    options.loginThrottle ??
    (redis
      ? new RedisLoginThrottle({ ...throttleOptions, client: redis, keyPrefix: `${redisPrefix}lt:` })
      : new InMemoryLoginThrottle(throttleOptions));
  registerPrincipalResolver(app, { store, sessions, apiKeys, secureCookies: config.secureCookies });

  await app.register(healthRoutes(lifecycle, store));

  const modules: RouteModule[] = [
    authRoutes({ sessions, throttle }),
    userRoutes,
    apiKeyRoutes({ apiKeys }),
    auditRoutes,
    networkRoutes,
    entityRoutes,
    assetRoutes,
    reportRoutes,
    billingRoutes,
  ];
  for (const module of modules) await app.register(asPlugin(module, deps), { prefix: API_PREFIX });
  // Public, content-addressed asset files (ads load them from publisher pages): at the root, not under /api.
  await app.register(asPlugin(assetFileRoutes, deps));
  // The dashboard (built SPA) at /, with index.html for client-side routes; registered like the asset files.
  await app.register(asPlugin(dashboardRoutes, deps));
  // Decisions, VAST, the web tag and the demo page: they read the in-memory snapshot, never the database.
  // Tracking opens the event log first: the decision service logs one request event per placement into it.
  const tracking = await createTracking(deps, { now, registry: metrics.registry });
  trackings.set(app, tracking);
  // Billing: posts usage from the rollups into the ledger (where the rollups run) and keeps the set of
  // advertisers out of prepaid funds and credit, which the serving side's gate refuses (docs/billing.md).
  const billing = createBillingRuntime({
    store,
    now,
    poster: config.rollups ?? CONFIG_DEFAULTS.rollups,
    onError: (err, what) => deps.logger.warn({ err }, what),
  });
  billings.set(app, billing);
  app.addHook('onReady', async () => billing.start());
  app.addHook('preClose', async () => billing.stop());
  // The lean paths in front of Fastify (decisions, pixels) answer with the same headers and count in the same metrics.
  const fastPathHttp = { answerHeaders: securityHeaders, metrics, trustProxy };
  const serving = await registerServing(app, deps, {
    now,
    onDecision: tracking.onDecision,
    billingGate: billing.gate,
    http: fastPathHttp,
  });
  servings.set(app, serving);
  // Tracking endpoints, conversions, batch ingestion; memories rebuilt from the log before they answer.
  await tracking.register(app, serving, fastPathHttp);
  // Raw event export (NDJSON) reads the same log.
  await app.register(asPlugin(eventExportRoutes(tracking.log), deps), { prefix: API_PREFIX });
  // Rollups: the consumer follows the event log into the hourly report rows. One per deployment (config
  // `rollups`): the embedded server runs it; a scaled deployment runs it in one "rollups" role process.
  if (config.rollups ?? CONFIG_DEFAULTS.rollups) {
    const rollups = createRollupConsumer({
      log: tracking.log,
      store,
      onError: (err, what) => deps.logger.warn({ err }, what),
    });
    rollupConsumers.set(app, rollups);
    app.addHook('onReady', async () => rollups.start());
    // preClose: stopped before the tracking side closes the log (onClose); an open batch commits or rolls back.
    app.addHook('preClose', async () => rollups.stop());
  }

  app.addHook('onReady', async () => {
    lifecycle.markReady();
  });
  return app;
}
