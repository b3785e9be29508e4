/**
 * Kysely's view of the schema (migrations.ts creates it). Entity tables share one shape: promoted,
 * indexed columns for filters, sorts and tenancy, plus `data`, the full entity as a jsonb document.
 */
import type { ColumnType, Generated } from 'kysely';

type Timestamptz = ColumnType<Date, Date | string, Date | string>;
/** jsonb: written as a JSON string (both drivers cast it), read back parsed. */
type Jsonb<T = unknown> = ColumnType<T, string, string>;
/** int8 (bigserial): pg returns a string, PGlite a number; callers convert with Number(). */
type Int8 = ColumnType<string | number, never, never>;

export interface EntityTable {
  id: string;
  name: string;
  status: string;
  version: number;
  created_at: Timestamptz;
  updated_at: Timestamptz;
  data: Jsonb;
  advertiser_id: string | null;
  campaign_id: string | null;
  publisher_id: string | null;
  site_id: string | null;
  priority: string | null;
  kind: string | null;
  role: string | null;
  email: string | null;
  key: string | null;
  password_hash: string | null;
}

export const ENTITY_TABLES = [
  'advertisers',
  'campaigns',
  'line_items',
  'creatives',
  'publishers',
  'sites',
  'placements',
  'audiences',
  'users',
] as const;
export type EntityTableName = (typeof ENTITY_TABLES)[number];

export interface Database {
  marquee_migrations: { id: number; name: string; applied_at: Generated<Date> };
  network: { id: number; name: string; currency: string; time_zone: string; version: number; updated_at: Timestamptz };
  advertisers: EntityTable;
  campaigns: EntityTable;
  line_items: EntityTable;
  creatives: EntityTable;
  publishers: EntityTable;
  sites: EntityTable;
  placements: EntityTable;
  audiences: EntityTable;
  users: EntityTable;
  sessions: { id: string; user_id: string; csrf_token: string; expires_at: Timestamptz; created_at: Timestamptz };
  api_keys: {
    id: string;
    user_id: string;
    name: string;
    prefix: string;
    scope: string;
    status: string;
    hash: string;
    version: number;
    last_used_at: Timestamptz | null;
    expires_at: Timestamptz | null;
    created_at: Timestamptz;
    updated_at: Timestamptz;
  };
  assets: { id: string; advertiser_id: string; sha256: string; data: Jsonb; created_at: Timestamptz };
  audit_log: {
    id: Int8;
    at: Timestamptz;
    actor: string;
    user_id: string | null;
    api_key_id: string | null;
    request_id: string | null;
    action: string;
    kind: string;
    entity_id: string;
    before: Jsonb | null;
    after: Jsonb | null;
    advertiser_id: string | null;
    publisher_id: string | null;
  };
  changes: {
    seq: Int8;
    kind: string;
    entity_id: string;
    op: string;
    entity: Jsonb;
    at: Timestamptz;
  };
}
