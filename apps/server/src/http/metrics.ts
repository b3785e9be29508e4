/**
 * Prometheus metrics of the HTTP layer. Each app gets its own registry (tests build many apps in one process).
 * Labels use the route pattern (`/api/v1/users/:id`), never the raw URL, so cardinality stays bounded.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { App } from '../deps.ts';

export interface HttpMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route' | 'status'>;
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

/** Counts every response and serves `GET /metrics` in the Prometheus text format. */
export function registerMetrics(app: App, metrics: HttpMetrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    // routeOptions.url is the pattern; undefined for unmatched requests (404s), which share one label.
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    done();
  });

  app.get('/metrics', { schema: { hide: true }, config: { rateLimit: false } }, async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
}
