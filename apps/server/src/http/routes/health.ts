/** Liveness and readiness probes (outside /api: load balancers and orchestrators call them unauthenticated). */
import type { Store } from '@marquee/store';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Lifecycle } from '../../lifecycle/lifecycle.ts';

const Health = Type.Object({ status: Type.Enum(['ok', 'starting', 'stopping', 'ready', 'unavailable']) });

export function healthRoutes(lifecycle: Lifecycle, store: Store): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/health',
      {
        config: { rateLimit: false },
        schema: {
          summary: 'Liveness: 200 while serving, 503 while starting or shutting down',
          tags: ['operations'],
          security: [],
          response: { 200: Health, 503: Health },
        },
      },
      async (_request, reply) => {
        const state = lifecycle.state;
        if (state === 'ready') return { status: 'ok' as const };
        return reply.code(503).send({ status: state });
      },
    );

    app.get(
      '/ready',
      {
        config: { rateLimit: false },
        schema: {
          summary: 'Readiness: 200 when serving and the management store answers',
          tags: ['operations'],
          security: [],
          response: { 200: Health, 503: Health },
        },
      },
      async (_request, reply) => {
        if (lifecycle.state !== 'ready') return reply.code(503).send({ status: lifecycle.state });
        const ok = await store.ping().catch(() => false);
        return ok ? { status: 'ready' as const } : reply.code(503).send({ status: 'unavailable' as const });
      },
    );
  };
}
