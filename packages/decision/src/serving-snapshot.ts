/**
 * The serving snapshot: everything decide() reads, immutable, built off the hot path from the
 * store's snapshot and rebuilt from the change feed by applyChanges(). A refresher swaps the whole
 * object in; a request in flight keeps the snapshot it started with.
 *
 * Only servable line items are indexed: active, under an active campaign and advertiser, not ended,
 * with at least one active approved creative of their own advertiser. The others are kept in
 * `excluded` with their reason, for explain mode.
 */
import type {
  Advertiser,
  Creative,
  FrequencyCap,
  LineItem,
  Network,
  Placement,
  PricingModel,
  Priority,
  Publisher,
  Site,
} from '@marquee/core';
import type { Change, EntityKind, EntityTypes, Snapshot } from '@marquee/store';
import { type Conjunction, type Literal, toDnf } from './dnf.ts';
import { KeyedConjunctionIndex } from './keyed-conjunction-index.ts';
import type { RejectReason } from './reasons.ts';
import { type ConjunctionIndex, type IndexInput, TargetingIndex } from './targeting-index.ts';
import { compileTree, type TreeMatcher } from './targeting-scan.ts';
import { type ZoneClock, zoneClock, zonedValue } from './zone-clock.ts';

/** Tier order: a lower number wins. */
export const TIER: Readonly<Record<Priority, number>> = { sponsorship: 0, standard: 1, price_priority: 2, house: 3 };

/** The internal attribute carrying creative fit (format and size), ANDed into every conjunction. */
export const FIT_ATTR = '__fit';

export interface ServingCreative {
  readonly creative: Creative;
  readonly weight: number;
  /** "b:300x250" for banners, "n" native, "v" video: what the index knows of fit. */
  readonly fitKey: string;
  /** The creative's categories and its advertiser's, checked against publishers' blocks. */
  readonly categories: readonly string[];
}

export interface ServingLineItem {
  readonly idx: number;
  readonly id: string;
  readonly lineItem: LineItem;
  readonly advertiserId: string;
  readonly campaignId: string;
  readonly priority: Priority;
  readonly tier: number;
  readonly pricingModel: PricingModel;
  readonly rateMicros: number;
  readonly currency: string;
  /** Effective flight: the line item's within its campaign's. */
  readonly startMs: number;
  readonly endMs: number;
  readonly clock: ZoneClock;
  /** 168 flags by weekday * 24 + hour in the line item's zone; null = always. */
  readonly dayMask: Uint8Array | null;
  readonly creatives: readonly ServingCreative[];
  readonly frequencyCaps: readonly FrequencyCap[];
  readonly allowSameAdvertiser: boolean;
  /** The tree as closures: the scan path and residual checks. */
  readonly matchTree: TreeMatcher;
  /** DNF too large to index: the index returns it always and the tree decides. */
  readonly residual: boolean;
}

export interface ServingPlacement {
  readonly id: string;
  readonly placement: Placement;
  readonly site: Site | undefined;
  readonly publisher: Publisher | undefined;
  /** Placement, site and publisher all active. */
  readonly active: boolean;
  readonly fitKeys: readonly string[];
  readonly fitSet: ReadonlySet<string>;
  readonly blockedAdvertisers: ReadonlySet<string>;
  readonly blockedCategories: readonly string[];
  readonly siteCategories: readonly string[];
}

export interface SourceEntities {
  readonly seq: number;
  readonly network: Network;
  readonly maps: { readonly [K in EntityKind]: ReadonlyMap<string, EntityTypes[K]> };
}

export interface ServingSnapshot {
  readonly seq: number;
  readonly network: Network;
  readonly lineItems: readonly ServingLineItem[];
  readonly lineItemById: ReadonlyMap<string, ServingLineItem>;
  readonly placements: ReadonlyMap<string, ServingPlacement>;
  /** Line items not indexed, and why (status, no_active_creative, flight). */
  readonly excluded: ReadonlyMap<string, RejectReason>;
  readonly index: ConjunctionIndex;
  readonly indexKind: IndexKind;
  /**
   * Hot data by line item position, in flat arrays so that ranking hundreds of candidates touches a
   * few cache lines rather than hundreds of objects: the static rank key (tier, then CPM or flat
   * rate; NaN for CPC/CPA, whose eCPM needs the predictor) and the residual flag.
   */
  readonly staticRankKey: Float64Array;
  readonly residualFlags: Uint8Array;
  /** Zones that hour/weekday targeting refers to: each request carries its local hour in each. */
  readonly targetingZones: readonly ZoneClock[];
  readonly source: SourceEntities;
}

/**
 * 'keyed' (default): the selective-key conjunction index; 'conjunction': Whang et al.'s conjunction
 * algorithm. Both return exactly what the scan returns; the benchmark compares their speed.
 */
export type IndexKind = 'keyed' | 'conjunction';

export interface SnapshotOptions {
  /** Line items whose flight ended before this instant are left out. Default 0 (none). */
  readonly nowMs?: number;
  readonly index?: IndexKind;
}

const ENTITY_KINDS: readonly EntityKind[] = [
  'advertiser',
  'campaign',
  'lineItem',
  'creative',
  'publisher',
  'site',
  'placement',
  'audience',
  'user',
];

/** Builds the serving snapshot from the store's. */
export function buildServingSnapshot(store: Snapshot, options: SnapshotOptions = {}): ServingSnapshot {
  const maps = {} as { [K in EntityKind]: Map<string, EntityTypes[K]> };
  for (const kind of ENTITY_KINDS) {
    const m = new Map<string, EntityTypes[EntityKind]>();
    for (const e of store.entities[kind] ?? []) m.set(e.id, e);
    (maps as Record<EntityKind, Map<string, EntityTypes[EntityKind]>>)[kind] = m;
  }
  return buildFromSource(
    { seq: store.seq, network: store.network, maps },
    options.nowMs ?? 0,
    options.index ?? 'keyed',
  );
}

/**
 * A new snapshot with the changes applied (the old one is untouched and keeps serving). Entity maps
 * are copied only for the kinds that changed; compiled targeting is reused for every line item
 * object that did not change, so the rebuild is mostly the index.
 */
export function applyChanges(snapshot: ServingSnapshot, changes: readonly Change[], nowMs = 0): ServingSnapshot {
  if (changes.length === 0) return snapshot;
  const src = snapshot.source;
  const maps = { ...src.maps } as { [K in EntityKind]: ReadonlyMap<string, EntityTypes[K]> };
  const copied = new Set<EntityKind>();
  let network = src.network;
  let seq = src.seq;
  for (const ch of changes) {
    if (ch.seq <= seq) continue; // already reflected
    seq = ch.seq;
    if (ch.kind === 'network') {
      network = ch.entity as Network;
      continue;
    }
    const kind = ch.kind;
    if (!copied.has(kind)) {
      copied.add(kind);
      const m = maps as Record<EntityKind, ReadonlyMap<string, unknown>>;
      m[kind] = new Map(m[kind]);
    }
    (maps[kind] as Map<string, unknown>).set(ch.id, ch.entity);
  }
  return buildFromSource({ seq, network, maps }, nowMs, snapshot.indexKind);
}

interface Compiled {
  readonly conjunctions: Conjunction[] | undefined;
  readonly matchTree: TreeMatcher;
  readonly zoned: boolean;
  readonly dayMask: Uint8Array | null;
  readonly clock: ZoneClock;
}
/** Compilation depends only on the line item object: unchanged line items are not recompiled. */
const compiledCache = new WeakMap<LineItem, Compiled>();

function compile(li: LineItem, masks: Map<string, Uint8Array>): Compiled {
  const hit = compiledCache.get(li);
  if (hit) return hit;
  const clock = zoneClock(li.timeZone);
  const zone = clock.zone;
  let zoned = false;
  const conjunctions = toDnf(li.targeting)?.map((c) =>
    c.map((lit): Literal => {
      if (lit.attr !== 'hour' && lit.attr !== 'weekday') return lit;
      zoned = true;
      return { ...lit, values: lit.values.map((v) => zonedValue(zone, v)) };
    }),
  );
  if (conjunctions === undefined) zoned = hasTimeTargeting(li);
  const compiled: Compiled = {
    conjunctions,
    matchTree: compileTree(li.targeting, zone),
    zoned,
    dayMask: dayMaskOf(li, masks),
    clock,
  };
  compiledCache.set(li, compiled);
  return compiled;
}

function hasTimeTargeting(li: LineItem): boolean {
  const s = JSON.stringify(li.targeting);
  return s.includes('"hour"') || s.includes('"weekday"');
}

function dayMaskOf(li: LineItem, masks: Map<string, Uint8Array>): Uint8Array | null {
  if (li.dayParting.length === 0) return null;
  const key = JSON.stringify(li.dayParting);
  let m = masks.get(key);
  if (!m) {
    m = new Uint8Array(168);
    for (const part of li.dayParting) {
      for (const d of part.weekdays) for (let h = part.startHour; h < part.endHour; h++) m[d * 24 + h] = 1;
    }
    masks.set(key, m);
  }
  return m;
}

const TIER_SCALE = 2 ** 51;
/** Rank order as one exact double: tier first (lower wins), then eCPM (higher wins). */
export function rankKey(tier: number, ecpmMicros: number): number {
  return tier * TIER_SCALE - Math.min(ecpmMicros, TIER_SCALE - 1);
}

export function fitKeyOf(c: Creative): string {
  return c.format === 'banner' ? `b:${c.width}x${c.height}` : c.format === 'native' ? 'n' : 'v';
}

function placementFitKeys(p: Placement): string[] {
  const keys: string[] = [];
  if (p.formats.includes('banner')) for (const s of p.sizes) keys.push(`b:${s.w}x${s.h}`);
  if (p.formats.includes('native')) keys.push('n');
  if (p.formats.includes('video')) keys.push('v');
  return keys;
}

const masksCache = new Map<string, Uint8Array>();
const NO_BLOCKS: ReadonlySet<string> = new Set();
/** Residual line items are indexed as "always a candidate" (still ANDed with fit). */
const RESIDUAL: readonly Conjunction[] = [[]];

function fitValues(creatives: readonly ServingCreative[]): string[] {
  if (creatives.length === 1) return [creatives[0]!.fitKey];
  return [...new Set(creatives.map((x) => x.fitKey))];
}

function buildFromSource(source: SourceEntities, nowMs: number, indexKind: IndexKind): ServingSnapshot {
  const { maps } = source;
  const excluded = new Map<string, RejectReason>();
  const lineItems: ServingLineItem[] = [];
  const lineItemById = new Map<string, ServingLineItem>();
  const inputs: IndexInput[] = [];
  const zones = new Map<string, ZoneClock>();
  if (masksCache.size > 10_000) masksCache.clear();

  for (const li of maps.lineItem.values()) {
    const campaign = maps.campaign.get(li.campaignId);
    const advertiser = maps.advertiser.get(li.advertiserId);
    if (li.status !== 'active' || !isActive(campaign) || !isActive(advertiser)) {
      excluded.set(li.id, 'status');
      continue;
    }
    const startMs = Math.max(Date.parse(li.startAt), campaign.startAt ? Date.parse(campaign.startAt) : -Infinity);
    const endMs = Math.min(
      li.endAt ? Date.parse(li.endAt) : Infinity,
      campaign.endAt ? Date.parse(campaign.endAt) : Infinity,
    );
    if (endMs <= nowMs || endMs <= startMs) {
      excluded.set(li.id, 'flight');
      continue;
    }
    const creatives = servingCreatives(li, advertiser, maps.creative);
    if (creatives.length === 0) {
      excluded.set(li.id, 'no_active_creative');
      continue;
    }
    const c = compile(li, masksCache);
    if (c.zoned) zones.set(c.clock.zone, c.clock);
    const idx = lineItems.length;
    const residual = c.conjunctions === undefined;
    const fit: Literal = { attr: FIT_ATTR, values: fitValues(creatives), negated: false };
    inputs.push({ item: idx, conjunctions: residual ? RESIDUAL : c.conjunctions!, fit });
    const sli: ServingLineItem = {
      idx,
      id: li.id,
      lineItem: li,
      advertiserId: li.advertiserId,
      campaignId: li.campaignId,
      priority: li.priority,
      tier: TIER[li.priority],
      pricingModel: li.pricingModel,
      rateMicros: li.rateMicros,
      currency: li.currency,
      startMs,
      endMs,
      clock: c.clock,
      dayMask: c.dayMask,
      creatives,
      frequencyCaps: li.frequencyCaps,
      allowSameAdvertiser: li.allowSameAdvertiser,
      matchTree: c.matchTree,
      residual,
    };
    lineItems.push(sli);
    lineItemById.set(li.id, sli);
  }

  const placements = new Map<string, ServingPlacement>();
  const blockSets = new Map<string, ReadonlySet<string>>();
  const blockSetOf = (publisher: Publisher | undefined): ReadonlySet<string> => {
    if (!publisher || publisher.blockedAdvertiserIds.length === 0) return NO_BLOCKS;
    let set = blockSets.get(publisher.id);
    if (!set) {
      set = new Set(publisher.blockedAdvertiserIds);
      blockSets.set(publisher.id, set);
    }
    return set;
  };
  for (const p of maps.placement.values()) {
    const site = maps.site.get(p.siteId);
    const publisher = maps.publisher.get(p.publisherId);
    const fitKeys = placementFitKeys(p);
    placements.set(p.id, {
      id: p.id,
      placement: p,
      site,
      publisher,
      active: p.status === 'active' && isActive(site) && isActive(publisher),
      fitKeys,
      fitSet: new Set(fitKeys),
      blockedAdvertisers: blockSetOf(publisher),
      blockedCategories: publisher?.blockedCategories ?? [],
      siteCategories: site?.categories ?? [],
    });
  }

  const staticRankKey = new Float64Array(lineItems.length);
  const residualFlags = new Uint8Array(lineItems.length);
  for (const sli of lineItems) {
    const fixed = sli.pricingModel === 'cpm' || sli.pricingModel === 'flat';
    staticRankKey[sli.idx] = fixed ? rankKey(sli.tier, sli.rateMicros) : Number.NaN;
    residualFlags[sli.idx] = sli.residual ? 1 : 0;
  }
  return {
    seq: source.seq,
    network: source.network,
    staticRankKey,
    residualFlags,
    lineItems,
    lineItemById,
    placements,
    excluded,
    index:
      indexKind === 'conjunction'
        ? TargetingIndex.build(inputs, lineItems.length)
        : KeyedConjunctionIndex.build(inputs, lineItems.length),
    indexKind,
    targetingZones: [...zones.values()],
    source,
  };
}

function isActive<T extends { status: string }>(e: T | undefined): e is T {
  return e !== undefined && e.status === 'active';
}

function servingCreatives(
  li: LineItem,
  advertiser: Advertiser,
  creatives: ReadonlyMap<string, Creative>,
): ServingCreative[] {
  const out: ServingCreative[] = [];
  for (const a of li.creatives) {
    const c = creatives.get(a.creativeId);
    if (!c || c.advertiserId !== li.advertiserId || c.status !== 'active' || c.approval !== 'approved') continue;
    out.push({
      creative: c,
      weight: a.weight,
      fitKey: fitKeyOf(c),
      categories: advertiser.categories.length === 0 ? c.categories : [...c.categories, ...advertiser.categories],
    });
  }
  return out;
}
