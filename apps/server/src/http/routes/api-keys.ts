/**
 * API keys: every user manages their own; admins see and revoke everyone's. A key is created from a signed-in
 * session (never by another key) and its secret is returned once. A read-only user can create read keys only.
 */
import { ApiKey, Id, Name, Timestamp } from '@marquee/core';
import { Type } from 'typebox';
import type { RouteModule } from '../../deps.ts';
import type { ApiKeyManager } from '../auth/api-keys.ts';
import { actorOf, principalOf, requireAuth } from '../auth/guards.ts';
import { MarqueeError } from '../errors.ts';
import { AUTHENTICATED, IdParams } from '../schemas.ts';

const CreateKeyBody = Type.Object(
  {
    name: Name,
    scope: Type.Enum(['read', 'write'], { default: 'read' }),
    expiresAt: Type.Optional(Type.Union([Timestamp, Type.Null()])),
  },
  { additionalProperties: false },
);

const CreatedKey = Type.Object(
  {
    apiKey: ApiKey,
    secret: Type.String({ description: 'The key: shown this once, store it now. Send as Authorization: Bearer' }),
  },
  { additionalProperties: false },
);

const ListKeysQuery = Type.Object(
  { userId: Type.Optional(Id), includeRevoked: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);

const TAGS = ['api keys'];

export function apiKeyRoutes(deps: { apiKeys: ApiKeyManager }): RouteModule {
  return async (app, { store }) => {
    app.get(
      '/api-keys',
      {
        preHandler: requireAuth,
        schema: {
          summary: 'List API keys: mine, or everyone’s for an admin (optionally of one user)',
          tags: TAGS,
          security: AUTHENTICATED,
          querystring: ListKeysQuery,
          response: { 200: Type.Object({ items: Type.Array(ApiKey) }, { additionalProperties: false }) },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const { userId, includeRevoked } = request.query;
        if (principal.role !== 'admin' && userId !== undefined && userId !== principal.userId) {
          throw new MarqueeError('MQ_ERR_FORBIDDEN', 'You can only list your own keys');
        }
        const owner = principal.role === 'admin' ? (userId ?? null) : principal.userId;
        const keys = await store.credentials.listApiKeys(owner);
        return { items: includeRevoked ? keys : keys.filter((k) => k.status === 'active') };
      },
    );

    app.post(
      '/api-keys',
      {
        preHandler: requireAuth,
        schema: {
          summary: 'Create an API key for myself; the secret is returned once',
          tags: TAGS,
          security: AUTHENTICATED,
          body: CreateKeyBody,
          response: { 201: CreatedKey },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        if (principal.via !== 'session') {
          throw new MarqueeError('MQ_ERR_FORBIDDEN', 'API keys are created from a signed-in session');
        }
        const { name, scope, expiresAt } = request.body;
        if (scope === 'write' && !principal.canWrite) {
          throw new MarqueeError('MQ_ERR_FORBIDDEN', 'A read-only user can only create read keys');
        }
        if (expiresAt && Date.parse(expiresAt) <= Date.now()) {
          throw new MarqueeError('MQ_ERR_UNPROCESSABLE', 'The expiry is in the past', [
            { path: '/expiresAt', message: 'must be in the future', code: 'in_past' },
          ]);
        }
        const created = await deps.apiKeys.issue(
          principal.userId,
          { name, scope, expiresAt: expiresAt ?? null },
          actorOf(request),
        );
        reply.code(201);
        return created;
      },
    );

    app.delete(
      '/api-keys/:id',
      {
        preHandler: requireAuth,
        schema: {
          summary: 'Revoke an API key (mine, or anyone’s for an admin)',
          tags: TAGS,
          security: AUTHENTICATED,
          params: IdParams,
          response: { 200: ApiKey },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        // A read-scoped key may not revoke; a session (any role) may revoke its own keys.
        if (principal.via === 'api_key' && !principal.canWrite) {
          throw new MarqueeError('MQ_ERR_FORBIDDEN', 'A read-scoped API key cannot revoke keys');
        }
        const visible = await store.credentials.listApiKeys(principal.role === 'admin' ? null : principal.userId);
        // Someone else's key is reported as missing, not forbidden: ids of others' keys are not disclosed.
        if (!visible.some((k) => k.id === request.params.id)) {
          throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such API key');
        }
        const revoked = await store.credentials.revokeApiKey(request.params.id, actorOf(request));
        if (!revoked) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such API key');
        return revoked;
      },
    );
  };
}
