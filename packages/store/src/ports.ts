/**
 * The store's ports: what the rest of Marquee needs from the management database.
 * Two implementations share one SQL schema (migrations/): PGlite in process (embedded default)
 * and PostgreSQL (MARQUEE_DATABASE_URL). One contract suite (store.contract.ts) runs on both.
 */
import type {
  Advertiser,
  ApiKey,
  Asset,
  Audience,
  Campaign,
  Creative,
  LineItem,
  Network,
  Placement,
  Publisher,
  Site,
  User,
} from '@marquee/core';
import type { BillingStore } from './billing-ports.ts';

/** The entities managed through the generic repository, by their API name. */
export interface EntityTypes {
  advertiser: Advertiser;
  campaign: Campaign;
  lineItem: LineItem;
  creative: Creative;
  publisher: Publisher;
  site: Site;
  placement: Placement;
  audience: Audience;
  user: User;
}
export type EntityKind = keyof EntityTypes;
export type AnyEntity = EntityTypes[EntityKind];

/** The fields a caller writes: everything but id, version and timestamps. */
export type Writable<T> = Omit<T, 'id' | 'version' | 'createdAt' | 'updatedAt'>;

/**
 * Tenant scope of a read or write. `all` is the network (admins, read-only users, internal roles);
 * otherwise rows are visible only when they belong to one of the listed advertisers or publishers.
 * Entities of the other side (publisher-side rows for an advertiser scope) are invisible.
 */
export type Scope =
  | { readonly kind: 'all' }
  | { readonly kind: 'tenant'; readonly advertiserIds: readonly string[]; readonly publisherIds: readonly string[] };

export const ALL: Scope = Object.freeze({ kind: 'all' });

/** Who made a change, for the audit log. */
export interface Actor {
  readonly userId: string | null;
  readonly apiKeyId?: string | null;
  readonly label: string; // e.g. "admin@localhost", "system:seed"
  readonly requestId?: string;
}

export interface ListQuery {
  /** Equality filters on indexed columns: status, advertiserId, campaignId, publisherId, siteId, priority, kind, role. */
  readonly filters?: Readonly<Record<string, string | readonly string[]>>;
  /** Case-insensitive substring of the name (or email for users). */
  readonly search?: string;
  /** Sort field: id (default, creation order), name, createdAt, updatedAt, status; prefix "-" for descending. */
  readonly sort?: string;
  /** 1..500, default 50. */
  readonly limit?: number;
  /** Opaque cursor from the previous page's `nextCursor`. */
  readonly cursor?: string;
  /** Include archived rows (default false unless filtering on status). */
  readonly includeArchived?: boolean;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
  /**
   * Exact total of matching rows (counted with the same filters) when the first page was read; later pages
   * (read with a cursor) repeat that first count rather than counting again.
   */
  readonly total: number;
}

export type WriteResult<T> =
  | { readonly kind: 'ok'; readonly entity: T }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'conflict'; readonly current: T }
  | { readonly kind: 'duplicate'; readonly field: string };

export interface EntityRepository<K extends EntityKind> {
  readonly kind: K;
  get(id: string, scope: Scope): Promise<EntityTypes[K] | undefined>;
  getMany(ids: readonly string[], scope: Scope): Promise<EntityTypes[K][]>;
  list(query: ListQuery, scope: Scope): Promise<Page<EntityTypes[K]>>;
  /** `id` may be given (seed, import); otherwise generated. */
  create(fields: Writable<EntityTypes[K]> & { id?: string }, actor: Actor): Promise<WriteResult<EntityTypes[K]>>;
  /** Replaces the writable fields when `expectedVersion` matches; conflict otherwise. */
  update(
    id: string,
    expectedVersion: number,
    fields: Writable<EntityTypes[K]>,
    scope: Scope,
    actor: Actor,
  ): Promise<WriteResult<EntityTypes[K]>>;
  /**
   * Creates many rows in one transaction, all or nothing (imports, seeding, benchmarks). Every row is
   * audited and put on the change feed exactly like `create`.
   */
  createMany(
    items: readonly (Writable<EntityTypes[K]> & { id?: string })[],
    actor: Actor,
  ): Promise<WriteResult<EntityTypes[K][]>>;
  /** Sets status on many rows at once (bulk pause/activate/archive); returns the rows changed. */
  setStatus(ids: readonly string[], status: string, scope: Scope, actor: Actor): Promise<EntityTypes[K][]>;
}

/** One change in the feed: every create, update or status change of a managed entity. */
export interface Change {
  readonly seq: number;
  readonly kind: EntityKind | 'network';
  readonly id: string;
  readonly op: 'create' | 'update';
  /** The entity after the change. */
  readonly entity: unknown;
  readonly at: string;
}

export interface Snapshot {
  /** The feed position the snapshot is consistent with: follow from here. */
  readonly seq: number;
  readonly network: Network;
  readonly entities: { readonly [K in EntityKind]: EntityTypes[K][] };
}

export interface ChangeFeed {
  /** A consistent copy of every entity (including archived ones) and the sequence number it reflects. */
  loadSnapshot(): Promise<Snapshot>;
  /** Changes with seq > after, in order, at most `limit`. */
  readSince(after: number, limit?: number): Promise<Change[]>;
  /**
   * Calls `onChanges` with every batch of changes after `after`, in order, within a second of commit
   * (LISTEN/NOTIFY or in-process wake-ups, with polling as a safety net). Returns a stop function.
   */
  follow(after: number, onChanges: (changes: Change[]) => void | Promise<void>): () => Promise<void>;
}

export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly userId: string | null;
  readonly requestId: string | null;
  readonly action: string; // "create", "update", "status", "login", "adjust", ...
  readonly kind: string;
  readonly entityId: string;
  readonly before: unknown;
  readonly after: unknown;
  /** Tenant columns of the changed row, so advertisers could later read their own trail. */
  readonly advertiserId: string | null;
  readonly publisherId: string | null;
}

export interface AuditLog {
  record(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void>;
  list(query: {
    kind?: string;
    entityId?: string;
    userId?: string;
    limit?: number;
    cursor?: string;
  }): Promise<Page<AuditEntry>>;
}

export interface StoredUser extends User {
  readonly passwordHash: string | null;
}

export interface Credentials {
  /** User with its password hash, by email (case-insensitive); archived users excluded. */
  findUserByEmail(email: string): Promise<StoredUser | undefined>;
  setPasswordHash(userId: string, hash: string, actor: Actor): Promise<void>;

  createSession(session: { id: string; userId: string; csrfToken: string; expiresAt: Date }): Promise<void>;
  /** The session when it exists and has not expired. */
  getSession(id: string): Promise<{ userId: string; csrfToken: string; expiresAt: Date } | undefined>;
  touchSession(id: string, expiresAt: Date): Promise<void>;
  deleteSession(id: string): Promise<void>;
  deleteSessionsOfUser(userId: string): Promise<void>;

  createApiKey(key: ApiKey & { hash: string }, actor: Actor): Promise<void>;
  /** Looks a key up by the SHA-256 hash of its secret; active, unexpired keys only. */
  findApiKeyByHash(hash: string): Promise<ApiKey | undefined>;
  listApiKeys(userId: string | null): Promise<ApiKey[]>;
  revokeApiKey(id: string, actor: Actor): Promise<ApiKey | undefined>;
  markApiKeyUsed(id: string, at: Date): Promise<void>;
}

export interface AssetStore {
  /** Metadata of uploaded assets; bytes live behind BlobStorage. */
  save(asset: Asset): Promise<Asset>;
  get(id: string): Promise<Asset | undefined>;
  findBySha(advertiserId: string, sha256: string): Promise<Asset | undefined>;
  list(advertiserId: string | null, limit: number, cursor?: string): Promise<Page<Asset>>;
}

export interface NetworkSettings {
  get(): Promise<Network>;
  update(network: Network, actor: Actor): Promise<Network>;
}

/** The dimension values of one hourly rollup row ('' when an id does not apply, e.g. a request's line item). */
export interface RollupKey {
  /** Start of the UTC hour, epoch milliseconds. */
  readonly hourMs: number;
  readonly advertiserId: string;
  readonly campaignId: string;
  readonly lineItemId: string;
  readonly creativeId: string;
  readonly publisherId: string;
  readonly siteId: string;
  readonly placementId: string;
  readonly country: string;
  readonly deviceType: string;
}

/** Summed measures of the rollups; money in integer micros. */
export interface RollupMeasures {
  readonly requests: number;
  readonly impressions: number;
  readonly viewableImpressions: number;
  readonly clicks: number;
  readonly conversions: number;
  readonly customEvents: number;
  /** Valid events of every kind. */
  readonly events: number;
  readonly spendMicros: number;
  readonly revenueMicros: number;
  readonly invalidEvents: number;
}

export const ROLLUP_MEASURES = [
  'requests',
  'impressions',
  'viewableImpressions',
  'clicks',
  'conversions',
  'customEvents',
  'events',
  'spendMicros',
  'revenueMicros',
  'invalidEvents',
] as const satisfies readonly (keyof RollupMeasures)[];

export interface RollupRow extends RollupKey, RollupMeasures {}

export interface InvalidRollupRow extends RollupKey {
  readonly reason: string;
  readonly events: number;
}

/** The aggregates of one batch of log events: added to the stored rollups in one transaction. */
export interface RollupBatch {
  readonly rows: readonly RollupRow[];
  readonly invalid: readonly InvalidRollupRow[];
  /** How many log records the batch covers (kept beside the position, for monitoring). */
  readonly records: number;
}

export const ROLLUP_ENTITY_DIMENSIONS = [
  'advertiser',
  'campaign',
  'line_item',
  'creative',
  'publisher',
  'site',
  'placement',
  'country',
  'device',
] as const;
export type RollupEntityDimension = (typeof ROLLUP_ENTITY_DIMENSIONS)[number];
export const ROLLUP_TIME_DIMENSIONS = ['hour', 'day', 'week', 'month'] as const;
export type RollupTimeDimension = (typeof ROLLUP_TIME_DIMENSIONS)[number];
/** `reason` groups invalid events by why they were invalid (only the invalid measure has it). */
export type RollupDimension = RollupEntityDimension | RollupTimeDimension | 'reason';

export interface RollupQuery {
  readonly dimensions: readonly RollupDimension[];
  /** Zone of the date range and of the day/week/month/hour labels (IANA, validated by the caller). */
  readonly timeZone: string;
  /** Inclusive local dates "YYYY-MM-DD" in `timeZone`; or instants with fromMs/toMs (half-open). */
  readonly fromDay?: string;
  readonly toDay?: string;
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Each listed dimension must take one of the values (AND across dimensions). */
  readonly filters?: Readonly<Partial<Record<RollupEntityDimension, readonly string[]>>>;
  /** Read rollup_invalid_hourly (measure: invalidEvents by reason) instead of rollup_hourly. */
  readonly invalidByReason?: boolean;
  /** At most this many groups are returned (the caller asks for one more to detect overflow). */
  readonly maxGroups: number;
}

export interface RollupGroup {
  /** Label of every requested dimension: ids as stored, times as local "YYYY-MM-DD[THH:00]" / "YYYY-MM". */
  readonly keys: Readonly<Record<string, string>>;
  readonly measures: RollupMeasures;
}

export type RollupCommitResult = 'committed' | 'moved';

/** The SQL side of reporting: hourly aggregates and the positions of the consumers that write them. */
export interface RollupStore {
  /** The log position a consumer committed last; undefined before its first commit. */
  position(consumer: string): Promise<string | undefined>;
  /**
   * In ONE transaction: adds the batch to the aggregates and moves the consumer from `from` to `next`.
   * 'moved' (and nothing written) when the stored position is no longer `from` (another instance of the
   * consumer got there first): a crash or a second consumer can never count a batch twice.
   */
  commit(consumer: string, from: string, next: string, batch: RollupBatch): Promise<RollupCommitResult>;
  /** Sums of the measures grouped by the dimensions, over the range and filters. */
  query(query: RollupQuery): Promise<RollupGroup[]>;
}

/** Everything the management side needs, opened by createStore(). */
export interface Store {
  readonly backend: 'pglite' | 'postgres';
  readonly repos: { readonly [K in EntityKind]: EntityRepository<K> };
  readonly feed: ChangeFeed;
  readonly audit: AuditLog;
  readonly credentials: Credentials;
  readonly assets: AssetStore;
  readonly network: NetworkSettings;
  /** Hourly aggregates of tracking events and the positions of their consumers (reporting). */
  readonly rollups: RollupStore;
  /** The double-entry ledger, usage posting from the rollups, credit limits (billing). */
  readonly billing: BillingStore;
  /** True when the store has no users yet (first start: create the admin, load demo data). */
  isEmpty(): Promise<boolean>;
  /** Cheap round trip for readiness probes. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** postgres://... for PostgreSQL; otherwise PGlite persisted in `dataDir` (or in memory when dataDir is undefined). */
  readonly databaseUrl?: string;
  readonly dataDir?: string;
  /** PostgreSQL schema to use (tests create one per run so they can run in parallel). Default "public". */
  readonly schema?: string;
  /**
   * PGlite only: run it in a worker thread (true, the default) so its SQL does not block this thread's event
   * loop, or in this thread (false: the fallback, and the baseline of bench/pglite-thread.ts). Unset, env
   * MARQUEE_PGLITE_THREAD=0 (or false) selects this thread (so any test run or benchmark can be repeated that way).
   */
  readonly pgliteThread?: boolean;
  /** PGlite in a worker thread only: called once if that thread dies; every statement then fails. */
  readonly onBackendFailure?: (error: Error) => void;
}
