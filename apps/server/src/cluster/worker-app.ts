/**
 * A serving worker's HTTP side: decisions, VAST, the web tag, the demo page and the tracking pixels and
 * clicks, answered from the worker's own in-memory snapshot with the same modules as createApp
 * (registerServing, createTracking). Everything else is forwarded to the primary (forward-to-primary.ts),
 * decided by path before Fastify routes anything, so the management routes the serving and tracking modules
 * also register (explain, batch ingestion, postback secrets) are never reached here: they need the store,
 * which only the primary holds.
 *
 * The shared state comes from the primary over IPC (port-proxies.ts) unless the configuration names a shared
 * service the worker can use itself: Redis (frequency caps, dedup, leases), NATS (event log, one spool per
 * worker slot). The worker's snapshot follows the primary's change feed.
 */
import { createServer } from 'node:http';
import path from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { SwappableBillingGate } from '@marquee/billing';
import { TARGETING_JSON_SCHEMA } from '@marquee/core';
import type { Store } from '@marquee/store';
import Fastify, { type FastifyBaseLogger, type RouteOptions } from 'fastify';
import { CONFIG_DEFAULTS, type Config } from '../config.ts';
import type { App, AppDeps } from '../deps.ts';
import { registerErrorHandlers } from '../http/error-handler.ts';
import { marqueeFastifyOptions } from '../http/fastify-options.ts';
import { countResponses, createHttpMetrics } from '../http/metrics.ts';
import { applyPublicCors } from '../http/public-cors.ts';
import { REQUEST_ID_HEADER } from '../http/request-id.ts';
import { createRouteIndex } from '../http/route-index.ts';
import { apiSecurityHeaders } from '../http/security-headers.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import { registerServing } from '../serving/serving.ts';
import { openEventLog } from '../tracking/open-event-log.ts';
import { createTracking } from '../tracking/tracking.ts';
import { createForwarder } from './forward-to-primary.ts';
import {
  RpcAssetStore,
  RpcBudgetLeaseStore,
  RpcChangeFeed,
  RpcDeduplicator,
  RpcEventLog,
  RpcFrequencyCapStore,
  RpcRollupQuery,
} from './port-proxies.ts';
import type { RpcChannel } from './rpc.ts';

export const WORKER_HEADER = 'x-marquee-worker';

/** The paths a worker answers itself: the public serving and tracking routes, and its own /health. */
export function servedByWorker(url: string): boolean {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path.startsWith('/v1/')) return path !== '/v1/conversions';
  // Conversions are attributed by the primary, whose attribution index sees every worker's clicks and views.
  if (path.startsWith('/t/')) return path !== '/t/conversion';
  return path === '/marquee.js' || path === '/demo' || path === '/health';
}

export interface WorkerAppOptions {
  readonly config: Config;
  readonly logger: FastifyBaseLogger;
  readonly rpc: RpcChannel;
  /** The primary's management port on 127.0.0.1. */
  readonly primaryPort: number;
  /** Stable across restarts of the same slot (1..N): names the worker and its NATS spool. */
  readonly slot: number;
  readonly lifecycle: Lifecycle;
  readonly now?: () => number;
}

/** The store as a worker sees it: the change feed and asset lookups, from the primary. */
function workerStore(rpc: RpcChannel): Store {
  const parts: Partial<Store> = {
    feed: new RpcChangeFeed(rpc),
    assets: new RpcAssetStore(rpc) as unknown as Store['assets'],
    // Only `query` (the pacing feeds); the rollup writer is the primary's consumer.
    rollups: new RpcRollupQuery(rpc) as unknown as Store['rollups'],
  };
  return new Proxy(parts as Store, {
    get(target, key) {
      if (key in target) return target[key as keyof Store];
      throw new Error(`store.${String(key)} is the primary's: a worker forwards such requests`);
    },
  });
}

export async function createWorkerApp(options: WorkerAppOptions): Promise<App> {
  const { config, logger, rpc, lifecycle } = options;
  const now = options.now ?? Date.now;
  const workerId = `${options.slot}:${process.pid}`;
  const forwarder = createForwarder({
    port: options.primaryPort,
    trustProxy: config.trustProxy ?? CONFIG_DEFAULTS.trustProxy,
    workerId,
  });

  // The same Fastify options as createApp (app.ts) for the routes served here.
  const app = Fastify({
    ...marqueeFastifyOptions(config, logger),
    serverFactory: (handler) =>
      createServer((req, res) => {
        if (servedByWorker(req.url ?? '/')) handler(req, res);
        else forwarder.forward(req, res);
      }),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  const routeIndex = createRouteIndex();
  app.addHook('onRoute', (route: RouteOptions) => {
    routeIndex.add(Array.isArray(route.method) ? route.method : [route.method], route.url);
  });
  app.addSchema(TARGETING_JSON_SCHEMA);
  app.removeContentTypeParser('text/plain');
  const securityHeaders = apiSecurityHeaders(config.secureCookies);
  // The same answer headers as the single process (app.ts), plus which worker answered.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id).header(WORKER_HEADER, workerId);
    reply.headers(securityHeaders);
    if (!applyPublicCors(request, reply)) done();
  });
  registerErrorHandlers(app, routeIndex);
  // Counted here, served by the primary's GET /metrics (merged with every worker's).
  const metrics = createHttpMetrics();
  countResponses(app, metrics);
  rpc.serve({ 'metrics.json': () => metrics.registry.getMetricsAsJSON() });

  app.get('/health', { config: { rateLimit: false }, schema: { hide: true } }, async (_request, reply) => {
    if (lifecycle.state === 'ready') return { status: 'ok', worker: workerId };
    return reply.code(503).send({ status: lifecycle.state, worker: workerId });
  });

  const deps: AppDeps = { config, store: workerStore(rpc), logger };
  // NATS: this worker publishes itself, through a spool of its own slot (a restarted slot drains it).
  const eventLog =
    (config.eventLog ?? CONFIG_DEFAULTS.eventLog) === 'nats'
      ? await openEventLog(
          { ...config, dataDir: path.join(config.dataDir, 'workers', String(options.slot)) },
          { onError: (err, what) => logger.warn({ err }, what) },
        )
      : new RpcEventLog(rpc);
  const tracking = await createTracking(deps, {
    now,
    eventLog,
    registry: metrics.registry,
    ...(config.redisUrl ? {} : { deduplicator: new RpcDeduplicator(rpc) }),
  });

  // The billing gate's set of stopped advertisers: the primary computes it, the worker polls it.
  const billingGate = new SwappableBillingGate();
  const refreshGate = async () => {
    const stopped = await rpc.call<string[]>('billing.stopped').catch(() => undefined);
    if (stopped) billingGate.replace(new Set(stopped));
  };
  await refreshGate();
  const gateTimer = setInterval(() => void refreshGate(), 5_000);
  gateTimer.unref();
  app.addHook('preClose', async () => clearInterval(gateTimer));

  // The lean paths in front of Fastify (decisions, pixels) answer with the same headers and count in the same metrics.
  const fastPathHttp = {
    answerHeaders: { [WORKER_HEADER]: workerId, ...securityHeaders },
    metrics,
    trustProxy: config.trustProxy ?? CONFIG_DEFAULTS.trustProxy,
  };
  const serving = await registerServing(app, deps, {
    now,
    onDecision: tracking.onDecision,
    billingGate,
    http: fastPathHttp,
    ...(config.redisUrl ? {} : { caps: new RpcFrequencyCapStore(rpc), leases: new RpcBudgetLeaseStore(rpc) }),
  });
  await tracking.register(app, serving, fastPathHttp);
  // The primary's delivery report shows the pacing of the workers, whose controllers do the serving.
  rpc.serve({ 'pacing.views': () => serving.pacing.views() });
  app.addHook('onClose', async () => forwarder.close());
  app.addHook('onReady', async () => lifecycle.markReady());
  return app;
}
