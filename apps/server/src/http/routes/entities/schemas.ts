/**
 * Request and response schemas of the management API, built from the TypeBox fields in @marquee/core
 * so the API, its validation and its OpenAPI document cannot drift from the domain model.
 *
 * - create: the entity's fields with the defaults a trafficker expects (draft, USD, even pacing...);
 * - patch: every field optional, no defaults (a default would overwrite the stored value), and
 *   `null` on an optional field removes it; `version` may come in the body instead of If-Match;
 * - list query, bulk-status body and the shared error body.
 */
import {
  Advertiser,
  AdvertiserFields,
  Audience,
  AudienceFields,
  Campaign,
  CampaignFields,
  Creative,
  CreativeFields,
  Id,
  LineItem,
  LineItemFields,
  Placement,
  PlacementFields,
  Publisher,
  PublisherFields,
  Site,
  SiteFields,
  STATUSES,
} from '@marquee/core';
import type { EntityKind } from '@marquee/store';
import { type TObject, type TProperties, type TSchema, Type } from 'typebox';
import { ErrorDetail } from '../../schemas.ts';

type SchemaObject = Record<string, unknown>;

const isOptional = (s: TSchema) => (s as unknown as Record<string, unknown>)['~optional'] === true;

/** A deep JSON copy: the core's schema objects are shared and must never be mutated here. */
const copy = <T>(s: T): T => structuredClone(s);

/** Fields with create-time defaults; a default makes the field optional in the request. */
function createSchema(fields: TProperties, defaults: Record<string, unknown>, optional: readonly string[] = []) {
  const properties: Record<string, SchemaObject> = {};
  const required: string[] = [];
  for (const [name, schema] of Object.entries(fields)) {
    const s = copy(schema) as SchemaObject;
    if (name in defaults) s.default = defaults[name];
    else if (!isOptional(schema) && !optional.includes(name) && s.default === undefined) required.push(name);
    properties[name] = s;
  }
  return { type: 'object', properties, required, additionalProperties: false } as SchemaObject;
}

function patchSchema(fields: TProperties) {
  const properties: Record<string, SchemaObject> = {};
  for (const [name, schema] of Object.entries(fields)) {
    const s = copy(schema) as SchemaObject;
    delete s.default;
    properties[name] = isOptional(schema)
      ? { anyOf: [s, { type: 'null' }], description: 'null removes the value' }
      : (s as SchemaObject);
  }
  properties.version = {
    type: 'integer',
    minimum: 1,
    description: 'The version you read; alternative to the If-Match header',
  };
  return { type: 'object', properties, additionalProperties: false, minProperties: 1 } as SchemaObject;
}

/** The whole entity's writable fields, as stored: used to validate the result of a merge. */
function fieldsSchema(fields: TProperties) {
  return Type.Object(fields, { additionalProperties: false }) as unknown as SchemaObject;
}

export interface EntitySchemas {
  readonly entity: TObject;
  readonly fields: SchemaObject;
  readonly create: SchemaObject;
  readonly patch: SchemaObject;
}

const { postbackSecret: _serverGenerated, ...ADVERTISER_API_FIELDS } = AdvertiserFields;

export const ENTITY_SCHEMAS: { readonly [K in Exclude<EntityKind, 'user'>]: EntitySchemas } = {
  advertiser: {
    // The postback secret is server-generated and never part of the entity's API shape: only writers read it,
    // through GET /api/v1/advertisers/{id}/postback-secret (tracking/postback-secret-routes.ts).
    entity: Type.Omit(Advertiser, ['postbackSecret']),
    fields: fieldsSchema(AdvertiserFields),
    create: createSchema(ADVERTISER_API_FIELDS, { status: 'active', currency: 'USD', categories: [] }),
    patch: patchSchema(ADVERTISER_API_FIELDS),
  },
  campaign: {
    entity: Campaign,
    fields: fieldsSchema(CampaignFields),
    create: createSchema(CampaignFields, { status: 'draft' }),
    patch: patchSchema(CampaignFields),
  },
  lineItem: {
    entity: LineItem,
    fields: fieldsSchema(LineItemFields),
    create: createSchema(
      LineItemFields,
      {
        status: 'draft',
        priority: 'standard',
        pricingModel: 'cpm',
        currency: 'USD',
        endAt: null,
        timeZone: 'UTC',
        lifetimeBudgetMicros: null,
        dailyBudgetMicros: null,
        lifetimeImpressionGoal: null,
        dailyImpressionGoal: null,
        pacing: 'even',
        dayParting: [],
        targeting: null,
        frequencyCaps: [],
        rotation: 'weighted',
        creatives: [],
        allowSameAdvertiser: false,
      },
      // advertiserId comes from the campaign; startAt defaults to the time of creation.
      ['advertiserId', 'startAt'],
    ),
    patch: patchSchema(LineItemFields),
  },
  creative: {
    entity: Creative,
    fields: fieldsSchema(CreativeFields),
    create: createSchema(CreativeFields, { status: 'draft', categories: [], approval: 'pending' }, ['format']),
    patch: patchSchema(CreativeFields),
  },
  publisher: {
    entity: Publisher,
    fields: fieldsSchema(PublisherFields),
    create: createSchema(PublisherFields, {
      status: 'active',
      revenueShareBps: 7000,
      blockedCategories: [],
      blockedAdvertiserIds: [],
    }),
    patch: patchSchema(PublisherFields),
  },
  site: {
    entity: Site,
    fields: fieldsSchema(SiteFields),
    create: createSchema(SiteFields, { status: 'active', kind: 'site', categories: [] }),
    patch: patchSchema(SiteFields),
  },
  placement: {
    entity: Placement,
    fields: fieldsSchema(PlacementFields),
    create: createSchema(
      PlacementFields,
      {
        status: 'active',
        formats: ['banner'],
        sizes: [],
        floorMicros: 0,
        currency: 'USD',
        auction: 'first_price',
        allowSameAdvertiser: false,
      },
      ['publisherId'], // taken from the site
    ),
    patch: patchSchema(PlacementFields),
  },
  audience: {
    entity: Audience,
    fields: fieldsSchema(AudienceFields),
    create: createSchema(AudienceFields, { status: 'active', advertiserId: null, ttlDays: 30 }),
    patch: patchSchema(AudienceFields),
  },
};

// ---------- shared pieces ----------

/** A 409 MQ_ERR_CONFLICT also carries `current`, the entity as it is stored now, to merge and retry. */
export const ConflictResponse = (entity: TObject) =>
  Type.Object(
    {
      code: Type.String(),
      message: Type.String(),
      details: Type.Array(ErrorDetail),
      current: Type.Optional(entity),
    },
    { description: 'The version sent is stale (MQ_ERR_CONFLICT), or a unique value is taken (MQ_ERR_DUPLICATE)' },
  );

export const IdParams = Type.Object({
  id: Type.String({ maxLength: 64, description: 'Prefixed id, e.g. li_01j...' }),
});

export const SORTS = ['id', 'name', 'createdAt', 'updatedAt', 'status'] as const;

const filterList = (item: TSchema, description: string) =>
  Type.Optional(Type.Array(item, { maxItems: 100, description: `${description}; repeat for several values` }));

export function listQuerySchema(filters: readonly string[]) {
  const props: TProperties = {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 2048, description: 'nextCursor of the previous page' })),
    sort: Type.Optional(
      Type.Enum([...SORTS, ...SORTS.map((s) => `-${s}`)], { description: 'Sort field; "-" prefix for descending' }),
    ),
    search: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive substring of the name' })),
    includeArchived: Type.Optional(Type.Boolean({ description: 'Archived rows are hidden unless asked for' })),
    status: filterList(Type.Enum([...STATUSES]), 'Status filter'),
  };
  for (const f of filters) {
    if (f === 'priority') {
      props[f] = filterList(Type.Enum(['sponsorship', 'standard', 'price_priority', 'house']), 'Priority filter');
    } else if (f === 'kind') {
      props[f] = filterList(Type.String({ maxLength: 20 }), 'Kind filter');
    } else {
      props[f] = filterList(Type.String({ maxLength: 64 }), `${f} filter`);
    }
  }
  return Type.Object(props, { additionalProperties: false });
}

export const ListResponse = (entity: TObject) =>
  Type.Object({
    items: Type.Array(entity),
    nextCursor: Type.Union([Type.String(), Type.Null()]),
    total: Type.Integer({ minimum: 0 }),
  });

export const BULK_STATUSES = ['active', 'paused', 'archived'] as const;

export const BulkStatusBody = Type.Object(
  {
    ids: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 500, uniqueItems: true }),
    status: Type.Enum([...BULK_STATUSES]),
  },
  { additionalProperties: false },
);

export const BulkStatusResponse = Type.Object({
  /** Ids whose status changed. */
  changed: Type.Array(Id),
  /** Ids already in the requested status. */
  unchanged: Type.Array(Id),
  /** Ids not found (or not visible to you), or refused. */
  errors: Type.Array(Type.Object({ id: Type.String(), code: Type.String(), message: Type.String() })),
});
