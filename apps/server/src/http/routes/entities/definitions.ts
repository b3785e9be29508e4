/** What the generic CRUD routes need to know about each managed entity. */
import { ID_PREFIX, type IdKind } from '@marquee/core';
import type { EntityKind } from '@marquee/store';
import { RULES, type Rules } from './rules.ts';
import { ENTITY_SCHEMAS, type EntitySchemas } from './schemas.ts';

export type ManagedKind = Exclude<EntityKind, 'user'>;

export interface EntityDefinition {
  readonly kind: ManagedKind;
  /** URL segment under /api/v1, e.g. "line-items". */
  readonly plural: string;
  /** Human names for summaries. */
  readonly singular: string;
  readonly tag: string;
  readonly idPrefix: string;
  /** The tenant list of a scope that applies. */
  readonly side: 'advertiser' | 'publisher';
  /** The field naming the tenant; "id" for advertisers and publishers themselves. Never changes on update. */
  readonly tenantField: 'id' | 'advertiserId' | 'publisherId';
  /** Only admins create these (a tenant is created by the network). */
  readonly adminCreates: boolean;
  /** List filters besides status, mapped to the store's ListQuery filters. */
  readonly filters: readonly string[];
  readonly schemas: EntitySchemas;
  readonly rules: Rules;
}

const def = (
  kind: ManagedKind,
  plural: string,
  singular: string,
  tag: string,
  idKind: IdKind,
  side: EntityDefinition['side'],
  tenantField: EntityDefinition['tenantField'],
  filters: readonly string[],
  adminCreates = false,
): EntityDefinition =>
  Object.freeze({
    kind,
    plural,
    singular,
    tag,
    idPrefix: `${ID_PREFIX[idKind]}_`,
    side,
    tenantField,
    adminCreates,
    filters,
    schemas: ENTITY_SCHEMAS[kind],
    rules: RULES[kind]!,
  });

export const ENTITY_DEFINITIONS: readonly EntityDefinition[] = [
  def('advertiser', 'advertisers', 'advertiser', 'Advertisers', 'advertiser', 'advertiser', 'id', [], true),
  def('campaign', 'campaigns', 'campaign', 'Campaigns', 'campaign', 'advertiser', 'advertiserId', ['advertiserId']),
  def('lineItem', 'line-items', 'line item', 'Line items', 'lineItem', 'advertiser', 'advertiserId', [
    'advertiserId',
    'campaignId',
    'priority',
  ]),
  def('creative', 'creatives', 'creative', 'Creatives', 'creative', 'advertiser', 'advertiserId', [
    'advertiserId',
    'kind',
  ]),
  def('publisher', 'publishers', 'publisher', 'Publishers', 'publisher', 'publisher', 'id', [], true),
  def('site', 'sites', 'site', 'Sites', 'site', 'publisher', 'publisherId', ['publisherId', 'kind']),
  def('placement', 'placements', 'placement', 'Placements', 'placement', 'publisher', 'publisherId', [
    'publisherId',
    'siteId',
  ]),
  def('audience', 'audiences', 'audience', 'Audiences', 'audience', 'advertiser', 'advertiserId', ['advertiserId']),
];
