/** The audit log of every change and sign-in (admins only), newest first, with filters and a cursor. */
import { Id } from '@marquee/core';
import { Type } from 'typebox';
import type { RouteModule } from '../../deps.ts';
import { requireAdmin } from '../auth/guards.ts';
import { AUTHENTICATED, PageOf, PageQuery } from '../schemas.ts';

export const AuditEntry = Type.Object(
  {
    id: Type.Integer(),
    at: Type.String({ format: 'date-time' }),
    actor: Type.String(),
    userId: Type.Union([Type.String(), Type.Null()]),
    requestId: Type.Union([Type.String(), Type.Null()]),
    action: Type.String(),
    kind: Type.String(),
    entityId: Type.String(),
    before: Type.Unknown(),
    after: Type.Unknown(),
    advertiserId: Type.Union([Type.String(), Type.Null()]),
    publisherId: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false, title: 'AuditEntry' },
);

const AuditQuery = Type.Object(
  {
    ...PageQuery,
    kind: Type.Optional(Type.String({ pattern: '^[a-zA-Z_]{1,40}$' })),
    entityId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    userId: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const auditRoutes: RouteModule = async (app, { store }) => {
  app.get(
    '/audit-log',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Read the audit log, newest first',
        tags: ['audit'],
        security: AUTHENTICATED,
        querystring: AuditQuery,
        response: { 200: PageOf(AuditEntry) },
      },
    },
    async (request) => {
      const { kind, entityId, userId, limit, cursor } = request.query;
      return store.audit.list({
        ...(kind ? { kind } : {}),
        ...(entityId ? { entityId } : {}),
        ...(userId ? { userId } : {}),
        ...(limit ? { limit } : {}),
        ...(cursor ? { cursor } : {}),
      });
    },
  );
};
