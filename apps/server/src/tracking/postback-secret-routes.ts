/**
 * The advertiser's conversion postback secret: read it, or create/rotate it (the old one stops working
 * once the new one is live, within a second). Admins and the advertiser's own users with write rights (a
 * read-only user or read-scoped key gets 403: the secret lets its holder record billable conversions);
 * tenant-walled like every advertiser route (another tenant's advertiser is a 404). The secret is not part
 * of the advertiser entity in the API and is redacted in the audit log.
 */
import { randomBytes } from 'node:crypto';
import { Id } from '@marquee/core';
import type { EntityTypes, Writable } from '@marquee/store';
import { Type } from 'typebox';
import type { App, AppDeps } from '../deps.ts';
import { actorOf, principalOf, requireWrite } from '../http/auth/guards.ts';
import { MarqueeError } from '../http/errors.ts';
import { AUTHENTICATED, IdParams } from '../http/schemas.ts';

const SecretResponse = Type.Object(
  {
    advertiserId: Id,
    postbackSecret: Type.Union([Type.String(), Type.Null()], { description: 'null until one is created' }),
  },
  { additionalProperties: false },
);

export function postbackSecretRoutes(deps: AppDeps) {
  const { store } = deps;
  return async (app: App): Promise<void> => {
    const load = async (request: Parameters<typeof principalOf>[0], id: string) => {
      const p = principalOf(request);
      // Publishers' users never see advertisers; the store's tenant scope hides other advertisers.
      if (p.role === 'publisher') throw new MarqueeError('MQ_ERR_NOT_FOUND');
      const advertiser = await store.repos.advertiser.get(id, p.scope);
      if (!advertiser) throw new MarqueeError('MQ_ERR_NOT_FOUND');
      return advertiser;
    };

    app.get(
      '/api/v1/advertisers/:id/postback-secret',
      {
        preHandler: requireWrite,
        schema: {
          summary: "Read an advertiser's conversion postback secret",
          description: 'Needs write rights on the advertiser (read-only users and read-scoped keys get 403).',
          tags: ['tracking'],
          security: AUTHENTICATED,
          params: IdParams,
          response: { 200: SecretResponse },
        },
      },
      async (request) => {
        const advertiser = await load(request, request.params.id);
        return { advertiserId: advertiser.id, postbackSecret: advertiser.postbackSecret ?? null };
      },
    );

    app.post(
      '/api/v1/advertisers/:id/postback-secret',
      {
        preHandler: requireWrite,
        schema: {
          summary: "Create or rotate an advertiser's conversion postback secret",
          description:
            'Generates a new secret (256 bits, base64url) and stores it on the advertiser; the previous one stops ' +
            'authenticating POST /v1/conversions once the change is live (within a second).',
          tags: ['tracking'],
          security: AUTHENTICATED,
          params: IdParams,
          response: { 200: SecretResponse },
        },
      },
      async (request) => {
        const p = principalOf(request);
        for (let attempt = 0; attempt < 5; attempt++) {
          const advertiser = await load(request, request.params.id);
          const secret = randomBytes(32).toString('base64url');
          const { id: _id, version, createdAt: _c, updatedAt: _u, ...fields } = advertiser;
          const next: Writable<EntityTypes['advertiser']> = { ...fields, postbackSecret: secret };
          const result = await store.repos.advertiser.update(advertiser.id, version, next, p.scope, actorOf(request));
          if (result.kind === 'ok') return { advertiserId: advertiser.id, postbackSecret: secret };
          if (result.kind !== 'conflict') throw new MarqueeError('MQ_ERR_NOT_FOUND');
        }
        throw new MarqueeError('MQ_ERR_CONFLICT');
      },
    );
  };
}
