/**
 * Prometheus metrics of the HTTP layer. Each app gets its own registry (tests build many apps in one process).
 * Labels use the route pattern (`/api/v1/users/:id`), never the raw URL, so cardinality stays bounded.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import type { App } from '../deps.ts';
import { MarqueeError } from './errors.ts';

/** One registry's metrics as values (what `Registry.getMetricsAsJSON` gives; crosses IPC as is). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export interface HttpMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route' | 'status'>;
  /**
   * Other processes' metrics merged into `GET /metrics` (a cluster primary: its serving workers'): counters
   * and histograms summed per label set, process gauges as prom-client's cluster aggregation has them.
   */
  others?: () => Promise<MetricsJson[]>;
}

export function createHttpMetrics(): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'marquee_' });
  const requests = new Counter({
    name: 'marquee_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'marquee_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return { registry, requests, duration };
}

/** Counts every response (a cluster worker does this alone: its primary serves /metrics). */
export function countResponses(app: App, metrics: HttpMetrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    // routeOptions.url is the pattern; undefined for unmatched requests (404s), which share one label.
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    done();
  });
}

/** Counts every response and serves `GET /metrics` in the Prometheus text format. */
export function registerMetrics(app: App, metrics: HttpMetrics, options: { readonly token?: string } = {}): void {
  // Compared as digests: equal lengths for timingSafeEqual, and no early exit on the first differing byte.
  const expected = options.token === undefined ? undefined : digest(options.token);
  countResponses(app, metrics);

  app.get('/metrics', { schema: { hide: true }, config: { rateLimit: false } }, async (request, reply) => {
    if (expected) {
      const header = request.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!timingSafeEqual(digest(given), expected)) {
        throw new MarqueeError('MQ_ERR_UNAUTHENTICATED', 'GET /metrics needs the metrics token as a Bearer token');
      }
    }
    const others = metrics.others ? await metrics.others() : [];
    const body =
      others.length === 0
        ? await metrics.registry.metrics()
        : await AggregatorRegistry.aggregate([await metrics.registry.getMetricsAsJSON(), ...others]).metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
