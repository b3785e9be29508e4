/** Network settings: name, currency and time zone of the whole ad network. Everyone signed in reads; admins write. */
import { isValidTimeZone, Network } from '@marquee/core';
import type { RouteModule } from '../../deps.ts';
import { actorOf, requireAdminWrite, requireAuth } from '../auth/guards.ts';
import { MarqueeError } from '../errors.ts';
import { AUTHENTICATED } from '../schemas.ts';

export const networkRoutes: RouteModule = async (app, { store }) => {
  app.get(
    '/network',
    {
      preHandler: requireAuth,
      schema: {
        summary: 'Network settings',
        tags: ['network'],
        security: AUTHENTICATED,
        response: { 200: Network },
      },
    },
    async () => store.network.get(),
  );

  app.put(
    '/network',
    {
      preHandler: requireAdminWrite,
      schema: {
        summary: 'Change the network settings',
        tags: ['network'],
        security: AUTHENTICATED,
        body: Network,
        response: { 200: Network },
      },
    },
    async (request) => {
      if (!isValidTimeZone(request.body.timeZone)) {
        throw new MarqueeError('MQ_ERR_UNPROCESSABLE', 'Unknown time zone', [
          { path: '/timeZone', message: `unknown time zone "${request.body.timeZone}"`, code: 'bad_time_zone' },
        ]);
      }
      return store.network.update(request.body, actorOf(request));
    },
  );
};
