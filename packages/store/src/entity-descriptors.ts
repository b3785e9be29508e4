/**
 * What the one generic repository needs to know about each entity kind: its table, id prefix,
 * tenant side and column, and which API fields are promoted to indexed columns.
 */
import { type IdKind, STATUSES } from '@marquee/core';
import type { EntityTableName } from './database.ts';
import type { EntityKind } from './ports.ts';

export type PromotedColumn =
  | 'advertiser_id'
  | 'campaign_id'
  | 'publisher_id'
  | 'site_id'
  | 'priority'
  | 'kind'
  | 'role'
  | 'email'
  | 'key';

export interface EntityDescriptor {
  readonly kind: EntityKind;
  readonly table: EntityTableName;
  readonly idKind: IdKind;
  /** Which tenant list of a scope applies; `none`: invisible to tenant scopes (users). */
  readonly side: 'advertiser' | 'publisher' | 'none';
  /** The column holding the tenant id (`id` for advertisers and publishers themselves). */
  readonly tenantColumn: 'id' | 'advertiser_id' | 'publisher_id' | null;
  /** Rows with a NULL tenant are network-wide: readable by every tenant, writable by none (audiences). */
  readonly nullTenantIsShared: boolean;
  /** API field name -> promoted column, copied from the entity on every write. */
  readonly promoted: Readonly<Partial<Record<string, PromotedColumn>>>;
  /** Filter names accepted by `list` -> column. */
  readonly filters: Readonly<Record<string, string>>;
  readonly searchColumn: 'name' | 'email';
  readonly statuses: readonly string[];
  /** Unique constraint or index name -> API field reported in `{ kind: 'duplicate', field }`. */
  readonly uniques: Readonly<Record<string, string>>;
}

const base = { status: 'status' } as const;

function describe(
  d: Omit<EntityDescriptor, 'filters' | 'uniques' | 'statuses' | 'searchColumn' | 'nullTenantIsShared'> &
    Partial<Pick<EntityDescriptor, 'uniques' | 'statuses' | 'searchColumn' | 'nullTenantIsShared'>>,
): EntityDescriptor {
  const filters: Record<string, string> = { ...base };
  for (const [field, column] of Object.entries(d.promoted)) if (column) filters[field] = column;
  return Object.freeze({
    statuses: STATUSES,
    searchColumn: 'name',
    nullTenantIsShared: false,
    ...d,
    filters,
    uniques: { [`${d.table}_pkey`]: 'id', ...d.uniques },
  });
}

export const DESCRIPTORS: { readonly [K in EntityKind]: EntityDescriptor } = {
  advertiser: describe({
    kind: 'advertiser',
    table: 'advertisers',
    idKind: 'advertiser',
    side: 'advertiser',
    tenantColumn: 'id',
    promoted: {},
  }),
  campaign: describe({
    kind: 'campaign',
    table: 'campaigns',
    idKind: 'campaign',
    side: 'advertiser',
    tenantColumn: 'advertiser_id',
    promoted: { advertiserId: 'advertiser_id' },
  }),
  lineItem: describe({
    kind: 'lineItem',
    table: 'line_items',
    idKind: 'lineItem',
    side: 'advertiser',
    tenantColumn: 'advertiser_id',
    promoted: { advertiserId: 'advertiser_id', campaignId: 'campaign_id', priority: 'priority' },
  }),
  creative: describe({
    kind: 'creative',
    table: 'creatives',
    idKind: 'creative',
    side: 'advertiser',
    tenantColumn: 'advertiser_id',
    promoted: { advertiserId: 'advertiser_id', kind: 'kind' },
  }),
  publisher: describe({
    kind: 'publisher',
    table: 'publishers',
    idKind: 'publisher',
    side: 'publisher',
    tenantColumn: 'id',
    promoted: {},
  }),
  site: describe({
    kind: 'site',
    table: 'sites',
    idKind: 'site',
    side: 'publisher',
    tenantColumn: 'publisher_id',
    promoted: { publisherId: 'publisher_id', kind: 'kind' },
  }),
  placement: describe({
    kind: 'placement',
    table: 'placements',
    idKind: 'placement',
    side: 'publisher',
    tenantColumn: 'publisher_id',
    promoted: { publisherId: 'publisher_id', siteId: 'site_id' },
  }),
  audience: describe({
    kind: 'audience',
    table: 'audiences',
    idKind: 'audience',
    side: 'advertiser',
    tenantColumn: 'advertiser_id',
    nullTenantIsShared: true,
    promoted: { advertiserId: 'advertiser_id', key: 'key' },
    uniques: { audiences_key_key: 'key' },
  }),
  user: describe({
    kind: 'user',
    table: 'users',
    idKind: 'user',
    side: 'none',
    tenantColumn: null,
    searchColumn: 'email',
    statuses: ['active', 'disabled', 'archived'],
    promoted: { role: 'role', email: 'email' },
    uniques: { users_email_key: 'email' },
  }),
};

export const ENTITY_KINDS = Object.keys(DESCRIPTORS) as EntityKind[];
