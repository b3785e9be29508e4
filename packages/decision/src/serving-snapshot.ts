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
import { DeadMarks } from './dead-marks.ts';
import { type Conjunction, type Literal, toDnf } from './dnf.ts';
import { ecpmMicros } from './ecpm.ts';
import { DEFAULT_PREDICTOR } from './fixed-prior-predictor.ts';
import { KeyedConjunctionIndex } from './keyed-conjunction-index.ts';
import { LayeredIndex } from './layered-index.ts';
import { OverlayMap } from './overlay-map.ts';
import type { RatePredictor } from './ports.ts';
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

/**
 * A run of line items by position and their hot data in flat arrays (same positions), so that ranking
 * hundreds of candidates touches a few cache lines rather than hundreds of objects: the static rank key
 * (tier, then CPM or flat rate; NaN for CPC/CPA, whose eCPM needs the predictor), the residual flag
 * and the id hash.
 */
export interface HotArrays {
  readonly lineItems: readonly ServingLineItem[];
  readonly staticRankKey: Float64Array;
  readonly residualFlags: Uint8Array;
  readonly idHashes: Uint32Array;
}

/**
 * A snapshot's line items by position (ServingLineItem.idx): the base, those of the last full build,
 * shared (never copied) by every snapshot updated from it, then the delta, those added by updates
 * since, in small arrays of this snapshot's own. Superseded positions stay (dead, see
 * ServingSnapshot.layers.dead) until the next full build.
 */
export class LineItemTable implements Iterable<ServingLineItem> {
  readonly length: number;
  /** Positions below this are the base's. */
  readonly baseCount: number;
  constructor(
    readonly base: HotArrays,
    readonly delta: HotArrays,
  ) {
    this.baseCount = base.lineItems.length;
    this.length = this.baseCount + delta.lineItems.length;
  }

  /** The line item at position `idx` (< length). */
  at(idx: number): ServingLineItem {
    return idx < this.baseCount ? this.base.lineItems[idx]! : this.delta.lineItems[idx - this.baseCount]!;
  }

  /** Every position, the dead ones included. */
  *[Symbol.iterator](): Iterator<ServingLineItem> {
    yield* this.base.lineItems;
    yield* this.delta.lineItems;
  }
}

export interface SourceEntities {
  readonly seq: number;
  readonly network: Network;
  readonly maps: { readonly [K in EntityKind]: ReadonlyMap<string, EntityTypes[K]> };
}

export interface ServingSnapshot {
  readonly seq: number;
  readonly network: Network;
  /** By position, dead ones included (layers.dead): base and delta, see LineItemTable. */
  readonly lineItems: LineItemTable;
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
   * The predictor whose ceilings (RatePredictor.maxCtrPpm / maxCvrPpm) the index's rank bounds of CPC
   * and CPA line items were computed with: decide()'s predictor unless its caller passes another one
   * (then decide() does not stop early, the bounds being no longer known to hold).
   */
  readonly predictor: RatePredictor;
  /** Zones that hour/weekday targeting refers to: each request carries its local hour in each. */
  readonly targetingZones: readonly ZoneClock[];
  readonly source: SourceEntities;
  /**
   * Incremental updates (applyChanges): the index of the last full build covers items
   * [0, baseItems) (lineItems.base); items after it were added by updates and sit in a small delta
   * index (lineItems.delta); `dead` marks items superseded by a later version, per snapshot (skipped
   * by the index, the scan and explain).
   */
  readonly layers: {
    readonly baseIndex: ConjunctionIndex;
    readonly baseCappedIndex: ConjunctionIndex;
    readonly baseItems: number;
    readonly dead: DeadMarks;
    /** Index inputs of the live delta items (item numbers from 0 = baseItems). */
    readonly deltaInputs: readonly IndexInput[];
    /**
     * The delta index in two levels, so that an update rebuilds an index over the few most recent
     * delta items only: `older` covers delta positions [0, older.count) as of the last merge (its
     * items that died since are skipped through `dead`); the recent ones are indexed anew on every
     * update, and merged into a new `older` once more than DELTA_LEVELS.recentItems (an O(delta) rebuild).
     */
    readonly older:
      | { readonly index: ConjunctionIndex; readonly capped: ConjunctionIndex; readonly count: number }
      | undefined;
    /**
     * Reverse references (line items by creative, campaign and advertiser id; placements by site and
     * publisher id), built on the first update that needs them and shared by the updates of one full build.
     */
    readonly refs: {
      byOwner?: ReadonlyMap<string, readonly string[]>;
      placementsByParent?: ReadonlyMap<string, readonly string[]>;
    };
    /**
     * The layered indexes' `out` buffers, shared by the updates of one full build (scratch, see
     * LayeredIndex); replaced by a longer one when the delta outgrows them, never shrunk or copied.
     */
    readonly scratch: { index: Int32Array; capped: Int32Array };
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
  /** The predicted click and conversion rates decide() ranks CPC and CPA line items with (default DEFAULT_PREDICTOR). */
  readonly predictor?: RatePredictor;
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
  return runToEnd(
    buildSteps(
      { seq: store.seq, network: store.network, maps },
      options.nowMs ?? 0,
      options.index ?? 'keyed',
      options.predictor ?? DEFAULT_PREDICTOR,
    ),
  );
}

/**
 * A new snapshot with the changes applied (the old one is untouched and keeps serving): the
 * incremental update (updateSnapshot) when the change fits the delta layer, else a full rebuild,
 * synchronously. A server that must keep answering while a large change is built runs the rebuild
 * in slices instead (rebuildSteps with runInSlices, see serving-state.ts).
 */
export function applyChanges(snapshot: ServingSnapshot, changes: readonly Change[], nowMs = 0): ServingSnapshot {
  return updateSnapshot(snapshot, changes, nowMs) ?? runToEnd(rebuildSteps(snapshot, changes, nowMs));
}

/**
 * The incremental update alone, in time proportional to the change (not to the network): undefined
 * when the line items it touches would take the delta layer past MAX_DELTA_ITEMS, where a full
 * rebuild is due.
 */
export function updateSnapshot(
  snapshot: ServingSnapshot,
  changes: readonly Change[],
  nowMs = 0,
  maxDeltaItems = MAX_DELTA_ITEMS,
): ServingSnapshot | undefined {
  return runToEnd(updateSteps(snapshot, changes, nowMs, maxDeltaItems));
}

/**
 * updateSnapshot() as steps of bounded work (about STEP_MASK + 1 line items or index inputs each), for a
 * server that yields to the event loop between them (runInSlices): a single change is one step, a merge of
 * the delta index's levels (up to MAX_DELTA_ITEMS items) or a bulk change of hundreds of line items is
 * spread over many, so no one synchronous stretch grows with the delta or the change.
 */
export function* updateSteps(
  snapshot: ServingSnapshot,
  changes: readonly Change[],
  nowMs = 0,
  maxDeltaItems = MAX_DELTA_ITEMS,
): Generator<void, ServingSnapshot | undefined, void> {
  const source = sourceWith(snapshot.source, changes);
  if (source === snapshot.source) return snapshot;
  return yield* applyIncrementally(snapshot, changes, source, nowMs, maxDeltaItems);
}

/**
 * The full rebuild of `snapshot` with `changes` applied, as steps: each `next()` does a bounded
 * amount of work (a few thousand line items or index entries), so a caller can yield to the event
 * loop between steps (runInSlices) while the old snapshot keeps serving.
 */
export function* rebuildSteps(
  snapshot: ServingSnapshot,
  changes: readonly Change[],
  nowMs = 0,
): Generator<void, ServingSnapshot, void> {
  const source = sourceWith(snapshot.source, changes);
  const maps = {} as { [K in EntityKind]: ReadonlyMap<string, EntityTypes[K]> };
  for (const kind of ENTITY_KINDS) {
    const m = source.maps[kind] as ReadonlyMap<string, EntityTypes[EntityKind]>;
    if (!(m instanceof OverlayMap)) {
      (maps as Record<EntityKind, ReadonlyMap<string, unknown>>)[kind] = m;
      continue;
    }
    // Flatten the changes layer into a plain map, a slice at a time.
    const flat = new Map<string, EntityTypes[EntityKind]>();
    let i = 0;
    for (const [k, v] of m) {
      flat.set(k, v);
      if ((++i & STEP_MASK) === 0) yield;
    }
    (maps as Record<EntityKind, ReadonlyMap<string, unknown>>)[kind] = flat;
  }
  return yield* buildSteps(
    { seq: source.seq, network: source.network, maps },
    nowMs,
    snapshot.indexKind,
    snapshot.predictor,
  );
}

/**
 * Work between two yields of a stepped build or update: about this many line items (STEP_MASK + 1), a
 * millisecond or two of CPU (was 512: 3-6 ms per step at 100k on the shared VM, a floor under the slices).
 */
const STEP_MASK = 127;
/** The same for line items compiled anew (the compile cache misses for a changed line item). */
const COMPILE_STEP_MASK = 15;
/** The same for trivial loop turns (a load and a store or two). */
const STEP_MASK_FAST = 4095;

/** Runs stepped work to its end, synchronously. */
export function runToEnd<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Runs stepped work on the event loop: steps for about `sliceMs`, then yields (setImmediate) so that
 * requests are answered, and so on. `onSlice` receives each slice's duration (the stall serving sees).
 */
export async function runInSlices<T>(
  steps: Generator<void, T, void>,
  sliceMs = 10,
  onSlice?: (ms: number) => void,
): Promise<T> {
  for (;;) {
    const t0 = performance.now();
    for (;;) {
      const r = steps.next();
      if (r.done) {
        onSlice?.(performance.now() - t0);
        return r.value;
      }
      if (performance.now() - t0 >= sliceMs) break;
    }
    onSlice?.(performance.now() - t0);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The source entities with the changes applied: changed kinds get a layer over the shared map (OverlayMap). */
function sourceWith(src: SourceEntities, changes: readonly Change[]): SourceEntities {
  let network = src.network;
  let seq = src.seq;
  const sets = new Map<EntityKind, [string, unknown][]>();
  for (const ch of changes) {
    if (ch.seq <= seq) continue; // already reflected
    seq = ch.seq;
    if (ch.kind === 'network') {
      network = ch.entity as Network;
      continue;
    }
    const list = sets.get(ch.kind);
    if (list) list.push([ch.id, ch.entity]);
    else sets.set(ch.kind, [[ch.id, ch.entity]]);
  }
  if (seq === src.seq) return src;
  const maps = { ...src.maps } as Record<EntityKind, ReadonlyMap<string, unknown>>;
  for (const [kind, list] of sets) maps[kind] = OverlayMap.with(maps[kind], list);
  return { seq, network, maps: maps as SourceEntities['maps'] };
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

/** The index inputs of line items with frequency caps (input item numbers are positions in `lineItems`). */
/** The inputs of frequency-capped line items (the capped index's), in steps of STEP_MASK_FAST + 1 inputs. */
function* cappedInputs(
  inputs: readonly IndexInput[],
  lineItems: readonly ServingLineItem[],
): Generator<void, IndexInput[], void> {
  const capped: IndexInput[] = [];
  for (let k = 0; k < inputs.length; k++) {
    const inp = inputs[k]!;
    if (lineItems[inp.item]!.frequencyCaps.length > 0) capped.push(inp);
    if ((k & STEP_MASK_FAST) === STEP_MASK_FAST) yield;
  }
  return capped;
}

/**
 * A rank key no greater than the line item's real one, whatever the request: its static key for CPM
 * and flat (the rate); for CPC and CPA, the key of the eCPM at the predictor's ceilings (eCPM does not
 * decrease with the rates), or the best key of its tier when the predictor has none. The keyed index
 * sorts its posting lists by it, so decide() can stop early (RankedCursor): the closer the bound to
 * the real key, the fewer candidates are looked at before the outcome is certain.
 */
export function rankBound(sli: ServingLineItem, predictor: RatePredictor = DEFAULT_PREDICTOR): number {
  const model = sli.pricingModel;
  if (model === 'cpm' || model === 'flat') return rankKey(sli.tier, sli.rateMicros);
  if (predictor.maxCtrPpm === undefined || (model === 'cpa' && predictor.maxCvrPpm === undefined))
    return rankKey(sli.tier, TIER_SCALE - 1);
  const ctr = predictor.maxCtrPpm(sli);
  const cvr = model === 'cpa' ? predictor.maxCvrPpm!(sli) : 0;
  return rankKey(sli.tier, ecpmMicros(model, sli.rateMicros, ctr, cvr));
}

function* buildSteps(
  source: SourceEntities,
  nowMs: number,
  indexKind: IndexKind,
  predictor: RatePredictor,
): Generator<void, ServingSnapshot, void> {
  const { maps } = source;
  const excluded = new Map<string, RejectReason>();
  const lineItems: ServingLineItem[] = [];
  const lineItemById = new Map<string, ServingLineItem>();
  const inputs: IndexInput[] = [];
  if (masksCache.size > 10_000) masksCache.clear();
  let i = 0;
  for (const li of maps.lineItem.values()) {
    if ((++i & STEP_MASK) === 0) yield;
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
  for (const sli of lineItems) {
    bounds[sli.idx] = rankBound(sli, predictor);
    if ((sli.idx & STEP_MASK_FAST) === STEP_MASK_FAST) yield;
  }
  yield;
  const index = yield* buildIndexSteps(indexKind, inputs, lineItems.length, bounds);
  yield;
  const capped = yield* cappedInputs(inputs, lineItems);
  yield;
  const cappedIndex = yield* buildIndexSteps(indexKind, capped, lineItems.length);
  yield;
  const placements = yield* placementSteps(maps);
  const hot = hotArrays(lineItems);
  const zones = new Map<string, ZoneClock>();
  for (let from = 0; from < lineItems.length; from += STEP_MASK + 1) {
    fillHot(hot, from, Math.min(lineItems.length, from + STEP_MASK + 1), zones);
    yield;
  }
  // Room for a delta of MAX_DELTA_ITEMS before the first update must replace them.
  const scratchSize = lineItems.length + MAX_DELTA_ITEMS;
  return {
    seq: source.seq,
    network: source.network,
    lineItems: new LineItemTable(hot, NO_DELTA),
    lineItemById,
    placements,
    excluded,
    index,
    cappedIndex,
    indexKind,
    predictor,
    targetingZones: [...zones.values()],
    source,
    layers: {
      baseIndex: index,
      baseCappedIndex: cappedIndex,
      baseItems: lineItems.length,
      dead: DeadMarks.none(lineItems.length),
      deltaInputs: [],
      older: undefined,
      refs: {},
      scratch: { index: new Int32Array(scratchSize), capped: new Int32Array(scratchSize) },
    },
  };
}

/** Hot arrays for `lineItems`, to be filled (fillHot). */
function hotArrays(lineItems: readonly ServingLineItem[]): HotArrays {
  const n = lineItems.length;
  return {
    lineItems,
    staticRankKey: new Float64Array(n),
    residualFlags: new Uint8Array(n),
    idHashes: new Uint32Array(n),
  };
}

const NO_DELTA: HotArrays = hotArrays([]);

function* buildIndexSteps(
  kind: IndexKind,
  inputs: readonly IndexInput[],
  itemCount: number,
  bounds?: Float64Array,
): Generator<void, ConjunctionIndex, void> {
  if (kind === 'conjunction') return TargetingIndex.build(inputs, itemCount); // one step (not the default index)
  return yield* KeyedConjunctionIndex.buildSteps(inputs, itemCount, bounds);
}

/** Fills the hot arrays for line items [from, to) of `hot.lineItems` and adds their zones to `zones`. */
function fillHot(hot: HotArrays, from: number, to: number, zones: Map<string, ZoneClock>): Map<string, ZoneClock> {
  const { lineItems, staticRankKey, residualFlags, idHashes } = hot;
  for (let i = from; i < to; i++) {
    const sli = lineItems[i]!;
    const fixed = sli.pricingModel === 'cpm' || sli.pricingModel === 'flat';
    staticRankKey[i] = fixed ? rankKey(sli.tier, sli.rateMicros) : Number.NaN;
    residualFlags[i] = sli.residual ? 1 : 0;
    idHashes[i] = sli.idHash;
    if (sli.zoned) zones.set(sli.clock.zone, sli.clock);
  }
  return zones;
}

/** The blocked advertisers of a publisher as a set, one per publisher across the placements built with this function. */
function blockSets(): (publisher: Publisher | undefined) => ReadonlySet<string> {
  const sets = new Map<string, ReadonlySet<string>>();
  return (publisher) => {
    if (!publisher || publisher.blockedAdvertiserIds.length === 0) return NO_BLOCKS;
    let set = sets.get(publisher.id);
    if (!set) {
      set = new Set(publisher.blockedAdvertiserIds);
      sets.set(publisher.id, set);
    }
    return set;
  };
}

function servingPlacementOf(
  p: Placement,
  maps: SourceEntities['maps'],
  blockSetOf: (publisher: Publisher | undefined) => ReadonlySet<string>,
): ServingPlacement {
  const site = maps.site.get(p.siteId);
  const publisher = maps.publisher.get(p.publisherId);
  const fitKeys = placementFitKeys(p);
  return {
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
  };
}

function* placementSteps(maps: SourceEntities['maps']): Generator<void, Map<string, ServingPlacement>, void> {
  const placements = new Map<string, ServingPlacement>();
  const blockSetOf = blockSets();
  let i = 0;
  for (const p of maps.placement.values()) {
    if ((++i & STEP_MASK) === 0) yield;
    placements.set(p.id, servingPlacementOf(p, maps, blockSetOf));
  }
  return placements;
}

/** Past this many line items in the delta layer, an update is a full rebuild instead (updateSnapshot says so). */
export const MAX_DELTA_ITEMS = 2_000;

/**
 * The incremental update, in time proportional to the delta, not to the network: line items touched
 * by the changes (directly, or through their campaign, advertiser or creatives) are marked dead and
 * re-added, if still servable, after the delta items. Nothing of the network's size is copied,
 * allocated or rebuilt: the base line items, their hot arrays and the base index are shared with the
 * snapshot of the last full build; the delta items, their hot arrays, the dead marks (DeadMarks) and
 * the delta index are rebuilt from the previous delta (O(delta)); entity maps, lookups and placements
 * get a layer over the shared ones (OverlayMap). Returns undefined when a full rebuild is due (the
 * delta would pass maxDeltaItems): that rebuild is the compaction, O(network).
 */
function* applyIncrementally(
  snapshot: ServingSnapshot,
  changes: readonly Change[],
  source: SourceEntities,
  nowMs: number,
  maxDeltaItems: number,
): Generator<void, ServingSnapshot | undefined, void> {
  const { maps } = source;
  const touched = new Set<string>();
  const creatives: string[] = [];
  const owners: string[] = []; // campaigns and advertisers
  const placementIds: string[] = [];
  const parents: string[] = []; // sites and publishers
  for (const ch of changes) {
    if (ch.seq <= snapshot.seq) continue;
    if (ch.kind === 'lineItem') touched.add(ch.id);
    else if (ch.kind === 'creative') creatives.push(ch.id);
    else if (ch.kind === 'campaign' || ch.kind === 'advertiser') owners.push(ch.id);
    else if (ch.kind === 'placement') placementIds.push(ch.id);
    else if (ch.kind === 'site' || ch.kind === 'publisher') parents.push(ch.id);
  }
  const old = snapshot.layers;
  if (creatives.length + owners.length > 0) {
    const refs = referencesOf(old, snapshot.source.maps.lineItem);
    for (const id of [...creatives, ...owners]) for (const li of refs.get(id) ?? []) touched.add(li);
    // Line items changed since the references were taken are in the line item map's layer.
    if (maps.lineItem instanceof OverlayMap) {
      const ids = new Set([...creatives, ...owners]);
      for (const [, li] of (maps.lineItem as OverlayMap<string, LineItem>).changed()) {
        if (ids.has(li.campaignId) || ids.has(li.advertiserId) || li.creatives.some((a) => ids.has(a.creativeId)))
          touched.add(li.id);
      }
    }
  }
  const table = snapshot.lineItems;
  const nb = old.baseItems;
  if (table.length - nb + touched.size > maxDeltaItems) return undefined;
  const placements =
    placementIds.length + parents.length > 0
      ? updatedPlacements(snapshot, maps, placementIds, parents)
      : snapshot.placements;
  if (touched.size === 0) {
    return {
      seq: source.seq,
      network: source.network,
      lineItems: table,
      lineItemById: snapshot.lineItemById,
      placements,
      excluded: snapshot.excluded,
      index: snapshot.index,
      cappedIndex: snapshot.cappedIndex,
      indexKind: snapshot.indexKind,
      predictor: snapshot.predictor,
      targetingZones: snapshot.targetingZones,
      source,
      layers: old,
    };
  }

  const killed: number[] = [];
  const added: ServingLineItem[] = [];
  const byIdSets: [string, ServingLineItem][] = [];
  const byIdDeletes: string[] = [];
  const excludedSets: [string, RejectReason][] = [];
  const newInputs: IndexInput[] = [];
  let work = 0;
  for (const id of touched) {
    // A changed line item is a new object: compiled anew (DNF, matcher), ~10x a cached one: smaller steps.
    if ((++work & COMPILE_STEP_MASK) === 0) yield;
    const prev = snapshot.lineItemById.get(id);
    if (prev) {
      killed.push(prev.idx);
      byIdDeletes.push(id);
    }
    const li = maps.lineItem.get(id);
    if (!li) continue;
    const r = servingLineItemOf(li, maps, nowMs, table.length + added.length);
    if (typeof r === 'string') {
      excludedSets.push([id, r]);
      continue;
    }
    added.push(r.sli);
    byIdSets.push([id, r.sli]);
    newInputs.push({ ...r.input, item: r.input.item - nb });
  }
  // The delta: the previous delta's items and hot arrays, copied (O(delta)), then the added ones.
  const prevDelta = table.delta;
  const deltaItems = prevDelta.lineItems.concat(added);
  const delta = hotArrays(deltaItems);
  delta.staticRankKey.set(prevDelta.staticRankKey);
  delta.residualFlags.set(prevDelta.residualFlags);
  delta.idHashes.set(prevDelta.idHashes);
  const before = snapshot.targetingZones;
  const zones = fillHot(delta, prevDelta.lineItems.length, deltaItems.length, new Map(before.map((z) => [z.zone, z])));
  const lineItems = new LineItemTable(table.base, delta);
  const n = lineItems.length;
  const dead = old.dead.with(killed, deltaItems.length);
  // The delta index over the live delta items (their inputs are kept, never recompiled), in two
  // levels (layers.older): the recent items' index is rebuilt on every update, the older one on a merge.
  const deltaInputs = old.deltaInputs.filter((inp) => !dead.has(inp.item + nb)).concat(newInputs);
  let older = old.older;
  let olderCount = older?.count ?? 0;
  let recentInputs = deltaInputs.filter((inp) => inp.item >= olderCount);
  if (recentInputs.length > DELTA_LEVELS.recentItems) {
    yield;
    older = yield* deltaLevel(snapshot, deltaInputs, deltaItems, 0, deltaItems.length);
    yield;
    olderCount = deltaItems.length;
    recentInputs = [];
  }
  const recent = yield* deltaLevel(
    snapshot,
    olderCount === 0 ? recentInputs : recentInputs.map((inp) => ({ ...inp, item: inp.item - olderCount })),
    deltaItems,
    olderCount,
    deltaItems.length,
  );
  // The older level minus its dead items, plus the recent one (scratch `out` of delta size: O(delta)).
  const deltaIndex = older
    ? new LayeredIndex(older.index, dead, nb, recent.index, olderCount, new Int32Array(deltaItems.length))
    : recent.index;
  const cappedDelta = older
    ? new LayeredIndex(older.capped, dead, nb, recent.capped, olderCount, new Int32Array(deltaItems.length))
    : recent.capped;
  const scratch = old.scratch;
  if (scratch.index.length < n) {
    // The delta outgrew the buffers (a maxDeltaItems above the default): longer ones, for this and later updates.
    scratch.index = new Int32Array(n + MAX_DELTA_ITEMS);
    scratch.capped = new Int32Array(n + MAX_DELTA_ITEMS);
  }
  const layers: ServingSnapshot['layers'] = {
    baseIndex: old.baseIndex,
    baseCappedIndex: old.baseCappedIndex,
    baseItems: nb,
    dead,
    deltaInputs,
    older,
    refs: old.refs,
    scratch,
  };
  return {
    seq: source.seq,
    network: source.network,
    lineItems,
    lineItemById: OverlayMap.with(snapshot.lineItemById, byIdSets, byIdDeletes),
    placements,
    // A touched line item leaves `excluded` unless it is (still) excluded.
    excluded: OverlayMap.with(snapshot.excluded, excludedSets, touched),
    index: new LayeredIndex(old.baseIndex, dead, 0, deltaIndex, nb, scratch.index),
    cappedIndex: new LayeredIndex(old.baseCappedIndex, dead, 0, cappedDelta, nb, scratch.capped),
    indexKind: snapshot.indexKind,
    predictor: snapshot.predictor,
    // Zones stay once used until the next full build (a superset only adds unused values to requests).
    targetingZones: zones.size === before.length ? before : [...zones.values()],
    source,
    layers,
  };
}

/**
 * Live recent delta items past which an update merges them into the older level of the delta index
 * (layers.older): each update rebuilds an index over at most this many; a merge rebuilds one over the
 * whole delta. Mutable for the tests (as KeyedConjunctionIndex.eagerEntries).
 */
export const DELTA_LEVELS = { recentItems: 32 };

/**
 * The index and capped index of delta positions [from, to) (`inputs` numbered from `from`, live
 * items only): a level of the delta index.
 */
function* deltaLevel(
  snapshot: ServingSnapshot,
  inputs: readonly IndexInput[],
  deltaItems: readonly ServingLineItem[],
  from: number,
  to: number,
): Generator<void, { index: ConjunctionIndex; capped: ConjunctionIndex; count: number }, void> {
  const bounds = new Float64Array(to - from);
  for (let i = from; i < to; i++) bounds[i - from] = rankBound(deltaItems[i]!, snapshot.predictor);
  const items = from === 0 ? deltaItems : deltaItems.slice(from, to);
  const index = yield* buildIndexSteps(snapshot.indexKind, inputs, to - from, bounds);
  const capped = yield* buildIndexSteps(snapshot.indexKind, yield* cappedInputs(inputs, items), to - from);
  return { index, capped, count: to };
}

/**
 * The snapshot's placements with those of the changed placements, sites and publishers rebuilt: a
 * layer over the shared map (OverlayMap), in proportion to the placements concerned.
 */
function updatedPlacements(
  snapshot: ServingSnapshot,
  maps: SourceEntities['maps'],
  placementIds: readonly string[],
  parents: readonly string[],
): ReadonlyMap<string, ServingPlacement> {
  const ids = new Set(placementIds);
  if (parents.length > 0) {
    const refs = placementsByParent(snapshot.layers, snapshot.source.maps.placement);
    for (const id of parents) for (const p of refs.get(id) ?? []) ids.add(p);
    // Placements changed since the references were taken are in the placement map's layer.
    if (maps.placement instanceof OverlayMap) {
      const changed = new Set(parents);
      for (const [, p] of (maps.placement as OverlayMap<string, Placement>).changed())
        if (changed.has(p.siteId) || changed.has(p.publisherId)) ids.add(p.id);
    }
  }
  const blockSetOf = blockSets();
  const sets: [string, ServingPlacement][] = [];
  const deletes: string[] = [];
  for (const id of ids) {
    const p = maps.placement.get(id);
    if (p) sets.push([id, servingPlacementOf(p, maps, blockSetOf)]);
    else deletes.push(id);
  }
  return OverlayMap.with(snapshot.placements, sets, deletes);
}

/** Adds id to the list of key in a map of lists. */
function appendTo(refs: Map<string, string[]>, key: string, id: string): void {
  const list = refs.get(key);
  if (list) list.push(id);
  else refs.set(key, [id]);
}

/** Placement ids by site and publisher id (as referencesOf, for placements). */
function placementsByParent(
  layers: ServingSnapshot['layers'],
  placements: ReadonlyMap<string, Placement>,
): ReadonlyMap<string, readonly string[]> {
  if (layers.refs.placementsByParent) return layers.refs.placementsByParent;
  const refs = new Map<string, string[]>();
  const add = (key: string, id: string) => appendTo(refs, key, id);
  for (const p of placements.values()) {
    add(p.siteId, p.id);
    add(p.publisherId, p.id);
  }
  layers.refs.placementsByParent = refs;
  return refs;
}

/**
 * Which line items name each creative, campaign and advertiser: built once per full build, on the
 * first update that needs it, from the line items of that moment (later changes to line items are
 * in the line item map's layer, which the caller scans too).
 */
function referencesOf(
  layers: ServingSnapshot['layers'],
  lineItems: ReadonlyMap<string, LineItem>,
): ReadonlyMap<string, readonly string[]> {
  if (layers.refs.byOwner) return layers.refs.byOwner;
  const refs = new Map<string, string[]>();
  const add = (key: string, id: string) => appendTo(refs, key, id);
  for (const li of lineItems.values()) {
    add(li.campaignId, li.id);
    add(li.advertiserId, li.id);
    for (const a of li.creatives) add(a.creativeId, li.id);
  }
  layers.refs.byOwner = refs;
  return refs;
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
