/**
 * The ad server's data model as JSON Schemas (TypeBox). These schemas are the single source for
 * request validation, response shapes, the OpenAPI document and the TypeScript types.
 *
 * Every entity has `id`, `version` (optimistic concurrency), `createdAt`, `updatedAt`.
 * Cross-field rules (end after start, creative fits placement, ...) are in validation.ts.
 */
import { type Static, type TObject, type TProperties, Type } from 'typebox';
import { ID_PATTERN } from './ids.ts';
import { CURRENCY_PATTERN } from './money.ts';
import type { TargetingNode } from './targeting.ts';

const closed = <P extends TProperties>(properties: P, description?: string) =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });

export const Id = Type.String({ pattern: ID_PATTERN, maxLength: 48, description: 'Prefixed, time-sortable id' });
export const Name = Type.String({ minLength: 1, maxLength: 200 });
export const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 instant' });
export const Currency = Type.String({ pattern: CURRENCY_PATTERN, description: 'ISO 4217 code', default: 'USD' });
export const MicrosAmount = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'Integer micros (1 unit = 1,000,000 micros)',
});
export const TimeZone = Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Paris' });
export const Domain = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.-]+$' });
export const Url = Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' });
export const IabCategory = Type.String({
  pattern: '^IAB[0-9]{1,2}(-[0-9]{1,3})?$',
  description: 'IAB content category',
});
/** Targeting nodes are a recursive shared schema registered by the HTTP layer (TARGETING_JSON_SCHEMA). */
export const Targeting = Type.Unsafe<TargetingNode>({ $ref: 'TargetingNode#' });

/** A closed set of strings; JSON Schema `enum`, TypeScript union of literals. */
const literals = <const V extends string[]>(values: readonly [...V]) => Type.Enum<V>(values);

export const STATUSES = ['draft', 'active', 'paused', 'archived'] as const;
export const Status = literals(STATUSES);
export type Status = (typeof STATUSES)[number];

export const PRIORITIES = ['sponsorship', 'standard', 'price_priority', 'house'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const PRICING_MODELS = ['cpm', 'cpc', 'cpa', 'flat'] as const;
export type PricingModel = (typeof PRICING_MODELS)[number];
export const PACING_MODES = ['even', 'frontloaded', 'asap'] as const;
export const ROTATIONS = ['weighted', 'optimized'] as const;
export const CAP_WINDOWS = ['minute', 'hour', 'day', 'week', 'lifetime'] as const;
export type CapWindow = (typeof CAP_WINDOWS)[number];
export const FORMATS = ['banner', 'native', 'video'] as const;
export type Format = (typeof FORMATS)[number];
export const CREATIVE_KINDS = ['image', 'html', 'native', 'vast'] as const;
export type CreativeKind = (typeof CREATIVE_KINDS)[number];
export const APPROVALS = ['pending', 'approved', 'rejected'] as const;
export const ROLES = ['admin', 'advertiser', 'publisher', 'readonly'] as const;
export type Role = (typeof ROLES)[number];

const Meta = {
  id: Id,
  version: Type.Integer({ minimum: 1, description: 'Incremented on every change; send it back to update' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};

export const Size = closed({
  w: Type.Integer({ minimum: 1, maximum: 4096 }),
  h: Type.Integer({ minimum: 1, maximum: 4096 }),
});
export type Size = Static<typeof Size>;

// ---------- advertisers, campaigns ----------
export const AdvertiserFields = {
  name: Name,
  status: Status,
  domain: Type.Optional(Domain),
  currency: Currency,
  categories: Type.Array(IabCategory, { maxItems: 50, default: [] }),
  notes: Type.Optional(Type.String({ maxLength: 2000 })),
};
export const Advertiser = closed({ ...Meta, ...AdvertiserFields });
export type Advertiser = Static<typeof Advertiser>;

export const CampaignFields = {
  advertiserId: Id,
  name: Name,
  status: Status,
  startAt: Type.Optional(Timestamp),
  endAt: Type.Optional(Type.Union([Timestamp, Type.Null()])),
  lifetimeBudgetMicros: Type.Optional(Type.Union([MicrosAmount, Type.Null()])),
  dailyBudgetMicros: Type.Optional(Type.Union([MicrosAmount, Type.Null()])),
};
export const Campaign = closed({ ...Meta, ...CampaignFields });
export type Campaign = Static<typeof Campaign>;

// ---------- line items ----------
export const FrequencyCap = closed({
  count: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  per: literals(CAP_WINDOWS),
  /** Window length in units of `per` (e.g. 3 with per=hour is "per 3 hours"); ignored for lifetime. */
  span: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1 })),
});
export type FrequencyCap = Static<typeof FrequencyCap>;

export const DayPart = closed({
  weekdays: Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7, uniqueItems: true }),
  startHour: Type.Integer({ minimum: 0, maximum: 23 }),
  /** Exclusive; 24 means end of day. */
  endHour: Type.Integer({ minimum: 1, maximum: 24 }),
});
export type DayPart = Static<typeof DayPart>;

export const CreativeAssignment = closed({
  creativeId: Id,
  weight: Type.Integer({ minimum: 1, maximum: 1000, default: 1 }),
});
export type CreativeAssignment = Static<typeof CreativeAssignment>;

export const LineItemFields = {
  advertiserId: Id,
  campaignId: Id,
  name: Name,
  status: Status,
  priority: literals(PRIORITIES),
  pricingModel: literals(PRICING_MODELS),
  /** CPM: per thousand impressions; CPC: per click; CPA: per conversion; flat: per day of the flight. */
  rateMicros: MicrosAmount,
  currency: Currency,
  startAt: Timestamp,
  endAt: Type.Union([Timestamp, Type.Null()]),
  timeZone: TimeZone,
  lifetimeBudgetMicros: Type.Union([MicrosAmount, Type.Null()]),
  dailyBudgetMicros: Type.Union([MicrosAmount, Type.Null()]),
  lifetimeImpressionGoal: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  dailyImpressionGoal: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  pacing: literals(PACING_MODES),
  dayParting: Type.Array(DayPart, { maxItems: 50, description: 'Empty means all day, every day' }),
  targeting: Type.Union([Targeting, Type.Null()]),
  frequencyCaps: Type.Array(FrequencyCap, { maxItems: 10 }),
  rotation: literals(ROTATIONS),
  creatives: Type.Array(CreativeAssignment, { maxItems: 200 }),
  /** Allows this line item to serve beside another ad of its advertiser in one request. */
  allowSameAdvertiser: Type.Boolean(),
};
export const LineItem = closed({ ...Meta, ...LineItemFields });
export type LineItem = Static<typeof LineItem>;

// ---------- creatives ----------
export const NativeAssets = closed({
  title: Type.String({ minLength: 1, maxLength: 200 }),
  body: Type.Optional(Type.String({ maxLength: 1000 })),
  imageUrl: Type.Optional(Url),
  iconUrl: Type.Optional(Url),
  callToAction: Type.Optional(Type.String({ maxLength: 50 })),
  sponsoredBy: Type.Optional(Type.String({ maxLength: 100 })),
});
export const VideoMedia = closed({
  mediaUrl: Url,
  mimeType: Type.String({ pattern: '^video/[a-z0-9.+-]+$' }),
  durationSec: Type.Integer({ minimum: 1, maximum: 3600 }),
  width: Type.Integer({ minimum: 1, maximum: 7680 }),
  height: Type.Integer({ minimum: 1, maximum: 4320 }),
  bitrateKbps: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
});

export const CreativeFields = {
  advertiserId: Id,
  name: Name,
  status: Status,
  kind: literals(CREATIVE_KINDS),
  /** banner for image and html, native for native, video for vast. */
  format: literals(FORMATS),
  width: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
  height: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
  clickUrl: Type.Optional(Url),
  /** image: an uploaded asset (assetId) or an external URL. */
  assetId: Type.Optional(Id),
  imageUrl: Type.Optional(Url),
  /** html: markup rendered in a sandboxed iframe. */
  html: Type.Optional(Type.String({ minLength: 1, maxLength: 100_000 })),
  native: Type.Optional(NativeAssets),
  video: Type.Optional(VideoMedia),
  categories: Type.Array(IabCategory, { maxItems: 20 }),
  approval: literals(APPROVALS),
};
export const Creative = closed({ ...Meta, ...CreativeFields });
export type Creative = Static<typeof Creative>;

// ---------- publishers, sites, placements ----------
export const PublisherFields = {
  name: Name,
  status: Status,
  domain: Type.Optional(Domain),
  /** The publisher's share of revenue, in basis points (7000 = 70%). */
  revenueShareBps: Type.Integer({ minimum: 0, maximum: 10_000 }),
  blockedCategories: Type.Array(IabCategory, { maxItems: 200 }),
  blockedAdvertiserIds: Type.Array(Id, { maxItems: 1000 }),
};
export const Publisher = closed({ ...Meta, ...PublisherFields });
export type Publisher = Static<typeof Publisher>;

export const SiteFields = {
  publisherId: Id,
  name: Name,
  status: Status,
  kind: literals(['site', 'app'] as const),
  domain: Type.Optional(Domain),
  bundle: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'App store bundle id' })),
  categories: Type.Array(IabCategory, { maxItems: 20 }),
};
export const Site = closed({ ...Meta, ...SiteFields });
export type Site = Static<typeof Site>;

export const PlacementFields = {
  publisherId: Id,
  siteId: Id,
  name: Name,
  status: Status,
  formats: Type.Array(literals(FORMATS), { minItems: 1, maxItems: 3, uniqueItems: true }),
  sizes: Type.Array(Size, { maxItems: 20, description: 'Accepted banner sizes; empty for video-only or native' }),
  floorMicros: MicrosAmount,
  currency: Currency,
  auction: literals(['first_price', 'second_price'] as const),
  allowSameAdvertiser: Type.Boolean(),
  video: Type.Optional(
    closed({
      minDurationSec: Type.Integer({ minimum: 1, maximum: 3600 }),
      maxDurationSec: Type.Integer({ minimum: 1, maximum: 3600 }),
      mimeTypes: Type.Array(Type.String({ pattern: '^video/[a-z0-9.+-]+$' }), { minItems: 1, maxItems: 10 }),
    }),
  ),
};
export const Placement = closed({ ...Meta, ...PlacementFields });
export type Placement = Static<typeof Placement>;

// ---------- audiences ----------
export const AudienceFields = {
  /** null: a network-wide segment any line item may target. */
  advertiserId: Type.Union([Id, Type.Null()]),
  name: Name,
  status: Status,
  /** The key used in targeting ({"dimension":"segment","values":[key]}). */
  key: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  /** Membership expires this many days after a user was last added. */
  ttlDays: Type.Integer({ minimum: 1, maximum: 540 }),
};
export const Audience = closed({ ...Meta, ...AudienceFields });
export type Audience = Static<typeof Audience>;

// ---------- users, API keys ----------
export const UserFields = {
  /** Any local@domain address; single-label domains such as admin@localhost are allowed (self-hosted installs). */
  email: Type.String({ pattern: '^[^\\s@]{1,64}@[^\\s@.][^\\s@]{0,252}$', maxLength: 254 }),
  name: Name,
  status: literals(['active', 'disabled', 'archived'] as const),
  role: literals(ROLES),
  /** For role "advertiser": the advertisers this user may see and change. */
  advertiserIds: Type.Array(Id, { maxItems: 100 }),
  /** For role "publisher": the publishers this user may see and change. */
  publisherIds: Type.Array(Id, { maxItems: 100 }),
};
export const User = closed({ ...Meta, ...UserFields });
export type User = Static<typeof User>;

export const ApiKey = closed({
  ...Meta,
  userId: Id,
  name: Name,
  /** The first characters of the key, to recognise it; the key itself is shown once. */
  prefix: Type.String(),
  scope: literals(['read', 'write'] as const),
  status: literals(['active', 'revoked'] as const),
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
  expiresAt: Type.Union([Timestamp, Type.Null()]),
});
export type ApiKey = Static<typeof ApiKey>;

export const Asset = closed({
  id: Id,
  advertiserId: Id,
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  contentType: Type.String(),
  bytes: Type.Integer({ minimum: 0 }),
  width: Type.Union([Type.Integer(), Type.Null()]),
  height: Type.Union([Type.Integer(), Type.Null()]),
  kind: literals(['image', 'html5'] as const),
  url: Type.String(),
  createdAt: Timestamp,
});
export type Asset = Static<typeof Asset>;

export const Network = closed({
  name: Name,
  currency: Currency,
  timeZone: TimeZone,
});
export type Network = Static<typeof Network>;

export type AnyObjectSchema = TObject;
