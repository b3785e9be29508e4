/**
 * The management API of the ad server's entities: advertisers, campaigns, line items, creatives,
 * publishers, sites, placements and audiences, each at /api/v1/<plural> (see docs/api/management.md).
 */
import { TARGETING_JSON_SCHEMA } from '@marquee/core';
import type { RouteModule } from '../../deps.ts';
import { ENTITY_DEFINITIONS } from './entities/definitions.ts';
import { registerEntityRoutes } from './entities/register-entity-routes.ts';

export const entityRoutes: RouteModule = async (app, deps) => {
  // Line items reference the recursive targeting schema by $id; register it unless the app did.
  if (!app.getSchemas()[TARGETING_JSON_SCHEMA.$id]) app.addSchema(TARGETING_JSON_SCHEMA);
  for (const d of ENTITY_DEFINITIONS) registerEntityRoutes(app, deps, d);
};
