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
import type { RequestQuery } from './assignment.ts';
import { type Conjunction, type Literal, toDnf } from './dnf.ts';
import { KeyedConjunctionIndex } from './keyed-conjunction-index.ts';
import type { RejectReason } from './reasons.ts';
import { type ConjunctionIndex, type IndexInput, type RankedCursor, TargetingIndex } from './targeting-index.ts';
import { type Assignment, compileTree, type TreeMatcher } from './targeting-scan.ts';
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
  /** Has hour or weekday targeting (its zone must be in every request's assignment). */
  readonly zoned: boolean;
  /** FNV-1a of the id: seeds tie-breaks and rotation, so they do not depend on positions. */
  readonly idHash: number;
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
  /**
   * The same targeting over the line items with frequency caps only: the decision service prefetches
   * the user's counters for the capped candidates, and a match over this one costs in proportion to
   * the capped line items, not to all of them.
   */
  readonly cappedIndex: ConjunctionIndex;
  readonly indexKind: IndexKind;
  /**
   * Hot data by line item position, in flat arrays so that ranking hundreds of candidates touches a
   * few cache lines rather than hundreds of objects: the static rank key (tier, then CPM or flat
   * rate; NaN for CPC/CPA, whose eCPM needs the predictor) and the residual flag.
   */
  readonly staticRankKey: Float64Array;
  readonly residualFlags: Uint8Array;
  readonly idHashes: Uint32Array;
  /** Zones that hour/weekday targeting refers to: each request carries its local hour in each. */
  readonly targetingZones: readonly ZoneClock[];
  readonly source: SourceEntities;
  /**
   * Incremental updates (applyChanges): the index of the last full build covers items
   * [0, baseItems); items after it were added by updates and sit in a small delta index; `dead`
   * flags items superseded by a later version (skipped by the index, the scan and explain).
   */
  readonly layers: {
    readonly baseIndex: ConjunctionIndex;
    readonly baseCappedIndex: ConjunctionIndex;
    readonly baseItems: number;
    readonly dead: Uint8Array;
  };
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
  if (seq === src.seq) return snapshot;
  const source = { seq, network, maps };
  return applyIncrementally(snapshot, changes, source, nowMs) ?? buildFromSource(source, nowMs, snapshot.indexKind);
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

/** A servable line item and its index input, or why it is not servable. */
function servingLineItemOf(
  li: LineItem,
  maps: SourceEntities['maps'],
  nowMs: number,
  idx: number,
): { sli: ServingLineItem; input: IndexInput } | RejectReason {
  const campaign = maps.campaign.get(li.campaignId);
  const advertiser = maps.advertiser.get(li.advertiserId);
  if (li.status !== 'active' || !isActive(campaign) || !isActive(advertiser)) return 'status';
  const startMs = Math.max(Date.parse(li.startAt), campaign.startAt ? Date.parse(campaign.startAt) : -Infinity);
  const endMs = Math.min(
    li.endAt ? Date.parse(li.endAt) : Infinity,
    campaign.endAt ? Date.parse(campaign.endAt) : Infinity,
  );
  if (endMs <= nowMs || endMs <= startMs) return 'flight';
  const creatives = servingCreatives(li, advertiser, maps.creative);
  if (creatives.length === 0) return 'no_active_creative';
  const c = compile(li, masksCache);
  const residual = c.conjunctions === undefined;
  const fit: Literal = { attr: FIT_ATTR, values: fitValues(creatives), negated: false };
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
    zoned: c.zoned,
    idHash: fnv1a(li.id),
  };
  return { sli, input: { item: idx, conjunctions: residual ? RESIDUAL : c.conjunctions!, fit } };
}

function buildIndex(
  kind: IndexKind,
  inputs: readonly IndexInput[],
  itemCount: number,
  bounds?: Float64Array,
): ConjunctionIndex {
  return kind === 'conjunction'
    ? TargetingIndex.build(inputs, itemCount)
    : KeyedConjunctionIndex.build(inputs, itemCount, bounds);
}

/** The index inputs of line items with frequency caps (input item numbers are offset by `offset`). */
function cappedInputs(inputs: readonly IndexInput[], lineItems: readonly ServingLineItem[], offset: number) {
  return inputs.filter((inp) => lineItems[inp.item + offset]!.frequencyCaps.length > 0);
}

/**
 * A rank key no greater than the line item's real one, whatever the request: its static key for CPM
 * and flat (the rate), the best key of its tier for CPC and CPA (their eCPM needs the predictor).
 * The keyed index sorts its posting lists by it, so decide() can stop early (RankedCursor).
 */
export function rankBound(sli: ServingLineItem): number {
  const fixed = sli.pricingModel === 'cpm' || sli.pricingModel === 'flat';
  return fixed ? rankKey(sli.tier, sli.rateMicros) : rankKey(sli.tier, TIER_SCALE - 1);
}

function buildFromSource(source: SourceEntities, nowMs: number, indexKind: IndexKind): ServingSnapshot {
  const { maps } = source;
  const excluded = new Map<string, RejectReason>();
  const lineItems: ServingLineItem[] = [];
  const lineItemById = new Map<string, ServingLineItem>();
  const inputs: IndexInput[] = [];
  if (masksCache.size > 10_000) masksCache.clear();
  for (const li of maps.lineItem.values()) {
    const r = servingLineItemOf(li, maps, nowMs, lineItems.length);
    if (typeof r === 'string') {
      excluded.set(li.id, r);
      continue;
    }
    inputs.push(r.input);
    lineItems.push(r.sli);
    lineItemById.set(li.id, r.sli);
  }
  const bounds = new Float64Array(lineItems.length);
  for (const sli of lineItems) bounds[sli.idx] = rankBound(sli);
  const index = buildIndex(indexKind, inputs, lineItems.length, bounds);
  const cappedIndex = buildIndex(indexKind, cappedInputs(inputs, lineItems, 0), lineItems.length);
  return assemble(source, indexKind, lineItems, lineItemById, excluded, buildPlacements(maps), index, cappedIndex, {
    baseIndex: index,
    baseCappedIndex: cappedIndex,
    baseItems: lineItems.length,
    dead: new Uint8Array(lineItems.length),
  });
}

function assemble(
  source: SourceEntities,
  indexKind: IndexKind,
  lineItems: ServingLineItem[],
  lineItemById: Map<string, ServingLineItem>,
  excluded: Map<string, RejectReason>,
  placements: ReadonlyMap<string, ServingPlacement>,
  index: ConjunctionIndex,
  cappedIndex: ConjunctionIndex,
  layers: ServingSnapshot['layers'],
): ServingSnapshot {
  const staticRankKey = new Float64Array(lineItems.length);
  const residualFlags = new Uint8Array(lineItems.length);
  const idHashes = new Uint32Array(lineItems.length);
  const zones = new Map<string, ZoneClock>();
  for (const sli of lineItems) {
    const fixed = sli.pricingModel === 'cpm' || sli.pricingModel === 'flat';
    staticRankKey[sli.idx] = fixed ? rankKey(sli.tier, sli.rateMicros) : Number.NaN;
    residualFlags[sli.idx] = sli.residual ? 1 : 0;
    idHashes[sli.idx] = sli.idHash;
    if (sli.zoned && layers.dead[sli.idx] !== 1) zones.set(sli.clock.zone, sli.clock);
  }
  return {
    seq: source.seq,
    network: source.network,
    staticRankKey,
    residualFlags,
    idHashes,
    lineItems,
    lineItemById,
    placements,
    excluded,
    index,
    cappedIndex,
    indexKind,
    targetingZones: [...zones.values()],
    source,
    layers,
  };
}

function buildPlacements(maps: SourceEntities['maps']): Map<string, ServingPlacement> {
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
  return placements;
}

/** Past this many line items in the delta layer, an update rebuilds the whole index instead. */
export const MAX_DELTA_ITEMS = 2_000;

/**
 * The incremental update: line items touched by the changes (directly, or through their campaign,
 * advertiser or creatives) are marked dead in the current index and re-added, if still servable,
 * to a small delta index over the items appended since the last full build. The big index is
 * shared, not copied, so a change is live in milliseconds even at 100k line items. Returns
 * undefined when a full rebuild is the better deal (too many touched items).
 */
function applyIncrementally(
  snapshot: ServingSnapshot,
  changes: readonly Change[],
  source: SourceEntities,
  nowMs: number,
): ServingSnapshot | undefined {
  const { maps } = source;
  const touched = new Set<string>();
  const creatives = new Set<string>();
  const campaigns = new Set<string>();
  const advertisers = new Set<string>();
  let placementsDirty = false;
  for (const ch of changes) {
    if (ch.seq <= snapshot.seq) continue;
    if (ch.kind === 'lineItem') touched.add(ch.id);
    else if (ch.kind === 'creative') creatives.add(ch.id);
    else if (ch.kind === 'campaign') campaigns.add(ch.id);
    else if (ch.kind === 'advertiser') advertisers.add(ch.id);
    else if (ch.kind === 'placement' || ch.kind === 'site' || ch.kind === 'publisher') placementsDirty = true;
  }
  if (creatives.size + campaigns.size + advertisers.size > 0) {
    for (const li of maps.lineItem.values()) {
      if (campaigns.has(li.campaignId) || advertisers.has(li.advertiserId)) touched.add(li.id);
      else if (creatives.size > 0 && li.creatives.some((a) => creatives.has(a.creativeId))) touched.add(li.id);
    }
  }
  const old = snapshot.layers;
  const deltaBefore = snapshot.lineItems.length - old.baseItems;
  if (deltaBefore + touched.size > MAX_DELTA_ITEMS) return undefined;

  const lineItems = snapshot.lineItems.slice();
  const lineItemById =
    touched.size > 0 ? new Map(snapshot.lineItemById) : (snapshot.lineItemById as Map<string, ServingLineItem>);
  const excluded = touched.size > 0 ? new Map(snapshot.excluded) : (snapshot.excluded as Map<string, RejectReason>);
  const dead = new Uint8Array(lineItems.length + touched.size);
  dead.set(old.dead);
  for (const id of touched) {
    const prev = lineItemById.get(id);
    if (prev) {
      dead[prev.idx] = 1;
      lineItemById.delete(id);
    }
    excluded.delete(id);
    const li = maps.lineItem.get(id);
    if (!li) continue;
    const r = servingLineItemOf(li, maps, nowMs, lineItems.length);
    if (typeof r === 'string') {
      excluded.set(id, r);
      continue;
    }
    lineItems.push(r.sli);
    lineItemById.set(id, r.sli);
  }
  const layers = {
    baseIndex: old.baseIndex,
    baseCappedIndex: old.baseCappedIndex,
    baseItems: old.baseItems,
    dead: dead.subarray(0, lineItems.length),
  };
  let index = snapshot.index;
  let cappedIndex = snapshot.cappedIndex;
  if (touched.size > 0) {
    const inputs: IndexInput[] = [];
    for (let i = old.baseItems; i < lineItems.length; i++) {
      if (layers.dead[i] === 1) continue;
      const r = servingLineItemOf(lineItems[i]!.lineItem, maps, nowMs, i - old.baseItems);
      if (typeof r !== 'string') inputs.push(r.input);
    }
    const deltaBounds = new Float64Array(lineItems.length - old.baseItems);
    for (let i = old.baseItems; i < lineItems.length; i++) deltaBounds[i - old.baseItems] = rankBound(lineItems[i]!);
    const delta = buildIndex(snapshot.indexKind, inputs, lineItems.length - old.baseItems, deltaBounds);
    index = new LayeredIndex(old.baseIndex, layers.dead, delta, old.baseItems, lineItems.length);
    const cappedDelta = buildIndex(
      snapshot.indexKind,
      cappedInputs(inputs, lineItems, old.baseItems),
      lineItems.length - old.baseItems,
    );
    cappedIndex = new LayeredIndex(old.baseCappedIndex, layers.dead, cappedDelta, old.baseItems, lineItems.length);
  }
  const placements = placementsDirty ? buildPlacements(maps) : snapshot.placements;
  return assemble(
    source,
    snapshot.indexKind,
    lineItems,
    lineItemById,
    excluded,
    placements,
    index,
    cappedIndex,
    layers,
  );
}

/**
 * The base index minus its dead items, plus the delta index (item numbers offset by the base size).
 * Ranked queries merge the two walks by bound (the delta can hold up to MAX_DELTA_ITEMS line items:
 * a server that took its line items through the API serves from it until the next full build).
 */
class LayeredIndex implements ConjunctionIndex, RankedCursor {
  readonly out: Int32Array;
  readonly ranked: RankedCursor | undefined;
  readonly conjunctionCount: number;
  readonly postingEntries: number;
  constructor(
    private readonly base: ConjunctionIndex,
    private readonly dead: Uint8Array,
    private readonly delta: ConjunctionIndex,
    private readonly offset: number,
    itemCount: number,
  ) {
    this.out = new Int32Array(itemCount);
    this.conjunctionCount = base.conjunctionCount + delta.conjunctionCount;
    this.postingEntries = base.postingEntries + delta.postingEntries;
    this.ranked = base.ranked ? this : undefined;
  }
  begin(a: Assignment): number {
    const bn = this.base.ranked!.begin(a);
    const delta = this.delta.ranked;
    return this.merge(bn, delta ? delta.begin(a) : this.delta.match(a));
  }
  beginQuery(q: RequestQuery): number {
    const bn = this.base.ranked!.beginQuery(q);
    const delta = this.delta.ranked;
    return this.merge(bn, delta ? delta.beginQuery(q) : this.delta.match(q.assignment()));
  }
  /** The eager matches of both layers (base minus dead, delta offset) in out. */
  private merge(bn: number, dn: number): number {
    let n = 0;
    const bout = this.base.out;
    for (let i = 0; i < bn; i++) {
      const item = bout[i]!;
      if (this.dead[item] !== 1) this.out[n++] = item;
    }
    const dout = this.delta.out;
    for (let i = 0; i < dn; i++) this.out[n++] = dout[i]! + this.offset;
    return n;
  }
  peekBound(): number {
    const b = this.base.ranked!.peekBound();
    const d = this.delta.ranked?.peekBound() ?? Number.POSITIVE_INFINITY;
    return b < d ? b : d;
  }
  advance(): number {
    const delta = this.delta.ranked;
    if (delta && delta.peekBound() < this.base.ranked!.peekBound()) {
      const item = delta.advance();
      return item >= 0 ? item + this.offset : -1;
    }
    const item = this.base.ranked!.advance();
    return item >= 0 && this.dead[item] === 1 ? -1 : item;
  }
  match(a: Assignment): number {
    let n = 0;
    const bn = this.base.match(a);
    const bout = this.base.out;
    for (let i = 0; i < bn; i++) {
      const item = bout[i]!;
      if (this.dead[item] !== 1) this.out[n++] = item;
    }
    const dn = this.delta.match(a);
    const dout = this.delta.out;
    for (let i = 0; i < dn; i++) this.out[n++] = dout[i]! + this.offset;
    return n;
  }
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
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
