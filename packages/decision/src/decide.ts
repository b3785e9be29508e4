/**
 * decide(): one ad (or `count` ads) per requested placement. Pure and synchronous: time, randomness,
 * data and the prefetched counters come in as arguments; nothing here does I/O.
 *
 * Per placement:
 *   1. candidates: the targeting index (or, in explain mode and in the benchmark's baseline, a scan);
 *   2. eligibility, cheapest rule first, each rejection with its reason code (reasons.ts);
 *   3. ranking: tier (sponsorship > standard > price_priority > house), then eCPM, then a random
 *      tie-break;
 *   4. selection with the same-advertiser rule, then the clearing price and creative rotation.
 */
import { type Creative, creativeFitsPlacement, type PricingModel, type Priority } from '@marquee/core';
import { placeAssignment, RequestQuery, requestAssignment, timeValues } from './assignment.ts';
import type { DecisionRequest } from './decision-request.ts';
import { ecpmMicros, mulDivFloor } from './ecpm.ts';
import { ALWAYS_ALLOW, type FrequencyCapView, NO_CAPS, type PacingGate, type RatePredictor } from './ports.ts';
import type { NoFillReason, RejectReason } from './reasons.ts';
import type { Rng } from './rng.ts';
import {
  rankKey,
  type ServingCreative,
  type ServingLineItem,
  type ServingPlacement,
  type ServingSnapshot,
} from './serving-snapshot.ts';
import type { RankedCursor } from './targeting-index.ts';
import type { Assignment } from './targeting-scan.ts';

export interface DecidePorts {
  readonly frequencyCaps?: FrequencyCapView;
  readonly pacing?: PacingGate;
  /**
   * Default: the snapshot's (SnapshotOptions.predictor), whose ceilings the index's rank bounds
   * were computed with. Another predictor is honoured, but decide() then verifies every index
   * candidate ('full-index') instead of stopping early.
   */
  readonly predictor?: RatePredictor;
  /**
   * 'scan' evaluates every line item's tree: the benchmark's baseline. 'index' (default) walks the
   * index in rank order and stops once the outcome is known, when the index supports it (the keyed
   * one does); 'full-index' verifies every index candidate first (the path before early termination,
   * kept for the tests and the benchmark).
   */
  readonly matcher?: 'index' | 'full-index' | 'scan';
}

export type AuctionKind = 'first_price' | 'second_price' | 'fixed';

export interface Ad {
  readonly lineItemId: string;
  readonly campaignId: string;
  readonly advertiserId: string;
  readonly creativeId: string;
  readonly creative: Creative;
  readonly priority: Priority;
  readonly pricingModel: PricingModel;
  /** The eCPM the line item ranked with (micros per thousand impressions). */
  readonly bidEcpmMicros: number;
  /** What it pays, as eCPM (micros per thousand impressions). */
  readonly clearingEcpmMicros: number;
  /**
   * What it pays in its own pricing unit: per thousand impressions (cpm), per click (cpc), per
   * conversion (cpa), per day (flat). For cpc/cpa it is the rate scaled by clearing / bid.
   */
  readonly chargeRateMicros: number;
  readonly auction: AuctionKind;
}

export type PlacementDecision =
  | { readonly kind: 'filled'; readonly placementId: string; readonly ads: readonly Ad[] }
  | { readonly kind: 'no_fill'; readonly placementId: string; readonly reason: NoFillReason };

export interface ExplainEntry {
  /** null for reasons that hold for the whole snapshot (status, no active creative). */
  readonly placementId: string | null;
  readonly lineItemId: string;
  readonly reason: RejectReason | 'won';
  readonly ecpmMicros?: number;
}

export interface Decision {
  readonly placements: readonly PlacementDecision[];
  readonly explain?: readonly ExplainEntry[];
}

const MAX_COUNT = 10;

interface Eligible {
  sli: ServingLineItem;
  ecpm: number;
  tiebreak: number;
  reason: RejectReason | 'won' | undefined;
}

/**
 * Randomness without order dependence: decide draws ONE number from the caller's rng per request
 * (the salt) and derives tie-breaks and rotation draws by hashing it with the line item, so the
 * lazy and the explaining selection, the index and the scan, all decide alike whatever order they
 * look at candidates in.
 */
function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
function tiebreakOf(salt: number, idHash: number): number {
  return mix32(salt ^ Math.imul(idHash, 0x9e3779b1));
}
function drawOf(salt: number, idHash: number, slot: number): number {
  return mix32(mix32(salt + Math.imul(slot + 1, 0x27d4eb2f)) ^ Math.imul(idHash, 0x165667b1)) / 4294967296;
}

/** The request-scoped state threaded through the placements. */
interface Ctx {
  readonly snapshot: ServingSnapshot;
  readonly nowMs: number;
  readonly rng: Rng;
  readonly caps: FrequencyCapView;
  readonly pacing: PacingGate;
  readonly predictor: RatePredictor;
  readonly trace: ExplainEntry[] | undefined;
  readonly traceFilter: ReadonlySet<string> | undefined;
  /** The request's one draw from the rng (uint32): see tiebreakOf. */
  readonly salt: number;
  /** Ads chosen so far in the request (numbers the rotation draw). */
  slot: number;
  /** Advertisers and line items already serving in this request. */
  readonly usedAdvertisers: string[];
  readonly usedLineItems: string[];
  /**
   * Whether the request can choose more than one ad (several placements, a count above 1) or
   * explains: then the lists above hold the chosen ads; else the one chosen ad is `sole` (a single
   * ad's decision allocates no lists).
   */
  readonly track: boolean;
  sole: ServingLineItem | undefined;
}

export function decide(
  request: DecisionRequest,
  snapshot: ServingSnapshot,
  nowMs: number,
  rng: Rng,
  ports: DecidePorts = {},
): Decision {
  const explain = request.explain;
  const trace: ExplainEntry[] | undefined = explain ? [] : undefined;
  const ctx: Ctx = {
    snapshot,
    nowMs,
    rng,
    caps: ports.frequencyCaps ?? NO_CAPS,
    pacing: ports.pacing ?? ALWAYS_ALLOW,
    predictor: ports.predictor ?? snapshot.predictor,
    trace,
    traceFilter: typeof explain === 'object' ? new Set(explain.lineItemIds) : undefined,
    salt: (rng() * 4294967296) >>> 0,
    slot: 0,
    usedAdvertisers: [],
    usedLineItems: [],
    track: trace !== undefined || request.placements.length > 1 || (request.placements[0]?.count ?? 1) >= 2,
    sole: undefined,
  };
  if (trace) {
    for (const [id, reason] of snapshot.excluded) note(ctx, null, id, reason);
  }
  const scan = ports.matcher === 'scan' || trace !== undefined;
  // The ranked walk's bounds hold for the snapshot's predictor only.
  const ranked =
    ports.matcher === 'full-index' || ctx.predictor !== snapshot.predictor ? undefined : snapshot.index.ranked;
  // The index paths stamp the request's values straight into the index (RequestQuery); the scan
  // and explain match an Assignment Map.
  const base = scan ? requestAssignment(request, snapshot, nowMs) : undefined;
  const time = base === undefined ? timeValues(snapshot, nowMs) : undefined;
  const out = new Array<PlacementDecision>(request.placements.length);
  for (let p = 0; p < out.length; p++) {
    const pr = request.placements[p]!;
    const sp = snapshot.placements.get(pr.placementId);
    if (!sp) {
      out[p] = { kind: 'no_fill', placementId: pr.placementId, reason: 'unknown_placement' };
      continue;
    }
    if (!sp.active) {
      out[p] = { kind: 'no_fill', placementId: sp.id, reason: 'inactive_placement' };
      continue;
    }
    const q =
      base === undefined
        ? new RequestQuery(request, sp, time!, snapshot, nowMs)
        : new RequestQuery(request, sp, undefined, snapshot, nowMs, placeAssignment(base, request, sp));
    const count = Math.min(MAX_COUNT, Math.max(1, Math.floor(pr.count ?? 1)));
    out[p] = decidePlacement(ctx, sp, q, count, scan, ranked);
  }
  return trace ? { placements: out, explain: trace } : { placements: out };
}

/**
 * The request's index candidates that have frequency caps: whose counters to prefetch (from the
 * capped-only index, through the query path: no attribute Map is built per request).
 */
export function cappedCandidates(
  request: DecisionRequest,
  snapshot: ServingSnapshot,
  nowMs: number,
): ServingLineItem[] {
  const index = snapshot.cappedIndex;
  const time = timeValues(snapshot, nowMs);
  const out: ServingLineItem[] = [];
  // Several placements may match one line item: listed once (a Set only when there are several).
  let seen: Set<ServingLineItem> | undefined;
  for (let p = 0; p < request.placements.length; p++) {
    const sp = snapshot.placements.get(request.placements[p]!.placementId);
    if (!sp?.active) continue;
    const n = index.matchQuery(new RequestQuery(request, sp, time, snapshot, nowMs));
    if (n > 0 && out.length > 0) seen ??= new Set(out);
    for (let i = 0; i < n; i++) {
      const sli = snapshot.lineItems.at(index.out[i]!);
      if (seen === undefined) out.push(sli);
      else if (!seen.has(sli)) {
        seen.add(sli);
        out.push(sli);
      }
    }
  }
  return out;
}

function note(ctx: Ctx, placementId: string | null, lineItemId: string, reason: RejectReason | 'won', ecpm?: number) {
  if (!ctx.trace || (ctx.traceFilter && !ctx.traceFilter.has(lineItemId))) return;
  ctx.trace.push(
    ecpm === undefined ? { placementId, lineItemId, reason } : { placementId, lineItemId, reason, ecpmMicros: ecpm },
  );
}

function decidePlacement(
  ctx: Ctx,
  sp: ServingPlacement,
  q: RequestQuery,
  count: number,
  scan: boolean,
  ranked: RankedCursor | undefined,
): PlacementDecision {
  const { snapshot } = ctx;
  if (ctx.trace) return decideExplained(ctx, sp, q.assignment(), count);
  if (!scan) {
    const n = ranked ? ranked.beginQuery(q) : snapshot.index.matchQuery(q);
    return selectLazy(ctx, sp, q, count, snapshot.index.out, n, ranked);
  }
  const a = q.assignment();
  const cands = scanOut(snapshot.lineItems.length);
  let n = 0;
  const all = snapshot.lineItems;
  const dead = snapshot.layers.dead;
  for (let i = 0; i < all.length; i++) if (!dead.has(i) && all.at(i).matchTree(a)) cands[n++] = i;
  return selectLazy(ctx, sp, q, count, cands, n, undefined);
}

let scanBuffer = new Int32Array(0);
function scanOut(size: number): Int32Array {
  if (scanBuffer.length < size) scanBuffer = new Int32Array(size);
  return scanBuffer;
}

// Scratch of the lazy selection (decide is synchronous: one set serves every call).
const wIdx = new Int32Array(MAX_COUNT);
const wBid = new Float64Array(MAX_COUNT);
let hIdx = new Int32Array(256);
let hKey = new Float64Array(256);
let hTie = new Float64Array(256);
let heap = new Int32Array(256);
/** Candidates in the heap, and candidates added so far (their slots in hIdx/hKey/hTie). */
let hSize = 0;
let hCount = 0;

function ensureScratch(n: number): void {
  if (hIdx.length >= n) return;
  const size = Math.max(n, hIdx.length * 2);
  hIdx = new Int32Array(size);
  hKey = new Float64Array(size);
  hTie = new Float64Array(size);
  heap = new Int32Array(size);
}

/** Rank order: tier first, then eCPM (higher first), then the hashed tie-break. */
function before(x: number, y: number): boolean {
  return hKey[x]! < hKey[y]! || (hKey[x] === hKey[y] && hTie[x]! < hTie[y]!);
}

function siftDown(size: number, at: number): void {
  let i = at;
  const v = heap[i]!;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= size) break;
    if (c + 1 < size && before(heap[c + 1]!, heap[c]!)) c++;
    if (!before(heap[c]!, v)) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = v;
}

function siftUp(at: number): void {
  let i = at;
  const v = heap[i]!;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(v, heap[p]!)) break;
    heap[i] = heap[p]!;
    i = p;
  }
  heap[i] = v;
}

/** Adds a matched line item to the candidates with its rank key and tie-break (heapify later unless `sift`). */
function addCandidate(ctx: Ctx, sp: ServingPlacement, q: RequestQuery, idx: number, sift: boolean): void {
  // The base's hot arrays or the delta's (LineItemTable), at the position within them.
  const table = ctx.snapshot.lineItems;
  const nb = table.baseCount;
  const hot = idx < nb ? table.base : table.delta;
  const j = idx < nb ? idx : idx - nb;
  if (hot.residualFlags[j] === 1 && !hot.lineItems[j]!.matchTree(q.assignment())) return;
  const k = hot.staticRankKey[j]!;
  const m = hCount++;
  hIdx[m] = idx;
  hKey[m] = Number.isNaN(k) ? rankKey(hot.lineItems[j]!.tier, ecpmOf(ctx, hot.lineItems[j]!, sp)) : k; // NaN: CPC/CPA
  hTie[m] = tiebreakOf(ctx.salt, hot.idHashes[j]!);
  heap[hSize] = m;
  if (sift) siftUp(hSize);
  hSize++;
}

/**
 * Early termination: pulls index entries in bound order until no unvisited one can rank ahead of
 * the heap's top (bounds never exceed real keys; an equal bound is pulled, for the tie-break).
 */
function refill(ctx: Ctx, sp: ServingPlacement, q: RequestQuery, cursor: RankedCursor): void {
  for (;;) {
    const b = cursor.peekBound();
    if (b === Number.POSITIVE_INFINITY || (hSize > 0 && b > hKey[heap[0]!]!)) return;
    const item = cursor.advance();
    if (item >= 0) addCandidate(ctx, sp, q, item, true);
  }
}

/**
 * The serving path. Candidates are ranked by a cheap key (tier, eCPM) in a heap and the full
 * eligibility rules run only on the best ones, in rank order, until the placement is filled and the
 * last winner's runner-up is known: lower-ranked candidates cannot change the outcome, so they are
 * never checked. Same result as decideExplained (a test holds them equal), at a fraction of the work
 * when many line items match.
 *
 * With a ranked cursor the candidates themselves arrive lazily: the index yields entries best bound
 * first and refill() pulls only those that could rank ahead of the heap's top, so most matching line
 * items are never even verified against the request.
 */
function selectLazy(
  ctx: Ctx,
  sp: ServingPlacement,
  q: RequestQuery,
  count: number,
  cands: Int32Array,
  n: number,
  cursor: RankedCursor | undefined,
): PlacementDecision {
  const all = ctx.snapshot.lineItems;
  ensureScratch(cursor ? all.length : n);
  hSize = 0;
  hCount = 0;
  for (let i = 0; i < n; i++) addCandidate(ctx, sp, q, cands[i]!, false);
  for (let i = (hSize >> 1) - 1; i >= 0; i--) siftDown(hSize, i);
  if (cursor) refill(ctx, sp, q, cursor);
  if (hSize === 0) return { kind: 'no_fill', placementId: sp.id, reason: 'no_match' };
  const allowSame = sp.placement.allowSameAdvertiser;
  // Winners (line item positions) and their bids, in scratch arrays (count <= MAX_COUNT).
  const winners = wIdx;
  const bids = wBid;
  let nw = 0;
  while (hSize > 0 && nw < count) {
    const sli = pop(ctx, sp, q, cursor);
    if (excluded(ctx, sli, allowSame)) continue;
    const r = check(ctx, sp, sli);
    if (typeof r !== 'number') continue;
    winners[nw] = sli.idx;
    bids[nw++] = r;
    if (ctx.track) {
      ctx.usedAdvertisers.push(sli.advertiserId);
      ctx.usedLineItems.push(sli.id);
    } else ctx.sole = sli;
  }
  if (nw === 0) return { kind: 'no_fill', placementId: sp.id, reason: 'no_eligible' };
  // Runner-up of winner k: winner k+1 when in the same tier; for the last, the next eligible one.
  const last = all.at(winners[nw - 1]!);
  let lastRunner = -1;
  if (floorApplies(last) && sp.placement.auction === 'second_price') {
    while (hSize > 0 && all.at(hIdx[heap[0]!]!).tier === last.tier) {
      const sli = pop(ctx, sp, q, cursor);
      if (excluded(ctx, sli, allowSame)) continue;
      const r = check(ctx, sp, sli);
      if (typeof r === 'number') {
        lastRunner = r;
        break;
      }
    }
  }
  const ads = new Array<Ad>(nw);
  for (let k = 0; k < nw; k++) {
    const w = all.at(winners[k]!);
    const runner = k + 1 === nw ? lastRunner : all.at(winners[k + 1]!).tier === w.tier ? bids[k + 1]! : -1;
    ads[k] = toAd(ctx, sp, w, bids[k]!, runner);
  }
  return { kind: 'filled', placementId: sp.id, ads };
}

/** Takes the best candidate off the heap (and refills it from the cursor). */
function pop(ctx: Ctx, sp: ServingPlacement, q: RequestQuery, cursor: RankedCursor | undefined): ServingLineItem {
  const top = heap[0]!;
  heap[0] = heap[--hSize]!;
  siftDown(hSize, 0);
  if (cursor) refill(ctx, sp, q, cursor);
  return ctx.snapshot.lineItems.at(hIdx[top]!);
}

/** The same-line-item and same-advertiser rules, against the ads already chosen in the request. */
function excluded(ctx: Ctx, sli: ServingLineItem, allowSame: boolean): RejectReason | undefined {
  if (!ctx.track) {
    const w = ctx.sole;
    if (w === undefined) return undefined;
    if (w.id === sli.id) return 'same_line_item';
    return !allowSame && !sli.allowSameAdvertiser && w.advertiserId === sli.advertiserId
      ? 'same_advertiser'
      : undefined;
  }
  if (ctx.usedLineItems.length === 0) return undefined;
  if (ctx.usedLineItems.includes(sli.id)) return 'same_line_item';
  if (!allowSame && !sli.allowSameAdvertiser && ctx.usedAdvertisers.includes(sli.advertiserId)) {
    return 'same_advertiser';
  }
  return undefined;
}

/** The explain path: every line item is scanned and gets its reason; the outcome equals selectLazy's. */
function decideExplained(ctx: Ctx, sp: ServingPlacement, a: Assignment, count: number): PlacementDecision {
  const eligible: Eligible[] = [];
  let matched = 0;
  const dead = ctx.snapshot.layers.dead;
  for (const sli of ctx.snapshot.lineItems) {
    if (dead.has(sli.idx)) continue;
    if (!sli.matchTree(a)) {
      note(ctx, sp.id, sli.id, 'targeting');
      continue;
    }
    matched++;
    consider(ctx, sp, sli, eligible);
  }
  if (eligible.length === 0) {
    return { kind: 'no_fill', placementId: sp.id, reason: matched === 0 ? 'no_match' : 'no_eligible' };
  }
  const allowSame = sp.placement.allowSameAdvertiser;
  for (const e of eligible) e.reason = excluded(ctx, e.sli, allowSame);
  const winners: Eligible[] = [];
  while (winners.length < count) {
    let best: Eligible | undefined;
    for (const e of eligible) if (e.reason === undefined && (best === undefined || byRank(e, best) < 0)) best = e;
    if (best === undefined) break;
    best.reason = 'won';
    winners.push(best);
    ctx.usedAdvertisers.push(best.sli.advertiserId);
    ctx.usedLineItems.push(best.sli.id);
    for (const e of eligible) if (e.reason === undefined) e.reason = excluded(ctx, e.sli, allowSame);
  }
  const lastTier = winners.length > 0 ? winners[winners.length - 1]!.sli.tier : 0;
  for (const e of eligible) if (e.reason === undefined) e.reason = e.sli.tier > lastTier ? 'lower_priority' : 'outbid';
  eligible.sort(byRank);
  for (const e of eligible) note(ctx, sp.id, e.sli.id, e.reason!, e.ecpm);
  if (winners.length === 0) return { kind: 'no_fill', placementId: sp.id, reason: 'no_eligible' };
  const ads: Ad[] = [];
  for (const w of winners) {
    // The runner-up: the best candidate ranked below the winner, in its tier, that could have won.
    let runner = -1;
    for (const e of eligible) {
      if (e === w || e.sli.tier !== w.sli.tier || e.reason === 'same_advertiser' || e.reason === 'same_line_item')
        continue;
      if (byRank(w, e) < 0 && e.ecpm > runner) runner = e.ecpm;
    }
    ads.push(toAd(ctx, sp, w.sli, w.ecpm, runner));
  }
  return { kind: 'filled', placementId: sp.id, ads };
}

function byRank(x: Eligible, y: Eligible): number {
  return x.sli.tier - y.sli.tier || y.ecpm - x.ecpm || x.tiebreak - y.tiebreak;
}

/** Eligibility of one targeted candidate; eligible ones are appended with their eCPM. */
function consider(ctx: Ctx, sp: ServingPlacement, sli: ServingLineItem, eligible: Eligible[]): void {
  const r = check(ctx, sp, sli);
  if (typeof r === 'number')
    eligible.push({ sli, ecpm: r, tiebreak: tiebreakOf(ctx.salt, sli.idHash), reason: undefined });
  else if (ctx.trace) note(ctx, sp.id, sli.id, r);
}

/** The first rule the candidate fails, or its eCPM when it passes them all. */
function check(ctx: Ctx, sp: ServingPlacement, sli: ServingLineItem): RejectReason | number {
  const now = ctx.nowMs;
  if (now < sli.startMs || now >= sli.endMs) return 'flight';
  if (sli.dayMask !== null && sli.dayMask[sli.clock.hourOfWeek(now)] !== 1) return 'day_parting';
  if (sp.blockedAdvertisers.size > 0 && sp.blockedAdvertisers.has(sli.advertiserId)) return 'blocked_advertiser';
  if (sli.currency !== sp.placement.currency) return 'currency_mismatch';
  const fit = creativeState(sli, sp);
  if (fit !== undefined) return fit;
  const ecpm = ecpmOf(ctx, sli, sp);
  if (floorApplies(sli) && ecpm < sp.placement.floorMicros) return 'below_floor';
  const caps = sli.frequencyCaps;
  if (caps.length > 0) {
    for (let i = 0; i < caps.length; i++) {
      const cap = caps[i]!;
      if (ctx.caps.count(sli.id, cap, now) >= cap.count) return 'frequency_cap';
    }
  }
  if (!ctx.pacing.allow(sli.id, now, ctx.rng)) return 'pacing';
  return ecpm;
}

/**
 * Floors bind the auctioned tiers (standard, price priority). Sponsorships are contracted and house
 * ads are the fill of last resort, so neither is held to the floor; nor is a flat daily fee.
 */
function floorApplies(sli: ServingLineItem): boolean {
  return (sli.priority === 'standard' || sli.priority === 'price_priority') && sli.pricingModel !== 'flat';
}

/** undefined when some creative fits and is not blocked; else why not. */
function creativeState(sli: ServingLineItem, sp: ServingPlacement): RejectReason | undefined {
  let fits = false;
  for (const c of sli.creatives) {
    if (!fitsPlacement(c, sp)) continue;
    fits = true;
    if (!blocked(c, sp)) return undefined;
  }
  return fits ? 'blocked_category' : 'no_fitting_creative';
}

/** core's creativeFitsPlacement, with format and size answered from precomputed keys (video needs the full rule). */
function fitsPlacement(c: ServingCreative, sp: ServingPlacement): boolean {
  return c.fitKey === 'v' ? creativeFitsPlacement(c.creative, sp.placement) : sp.fitSet.has(c.fitKey);
}

/** A block on "IAB7" covers its subcategories ("IAB7-1"). */
function blocked(c: ServingCreative, sp: ServingPlacement): boolean {
  const blocks = sp.blockedCategories;
  if (blocks.length === 0) return false;
  for (const cat of c.categories) {
    for (const b of blocks) {
      if (cat === b || (cat.length > b.length && cat.startsWith(b) && cat.charCodeAt(b.length) === 45)) return true;
    }
  }
  return false;
}

/** The line item's eCPM for this placement (ecpm.ts), with the predicted rates for CPC and CPA. */
function ecpmOf(ctx: Ctx, sli: ServingLineItem, sp: ServingPlacement): number {
  const model = sli.pricingModel;
  if (model === 'cpm' || model === 'flat') return sli.rateMicros;
  const ctr = ctx.predictor.ctrPpm(sli, sp);
  return ecpmMicros(model, sli.rateMicros, ctr, model === 'cpa' ? ctx.predictor.cvrPpm(sli, sp) : 0);
}

/**
 * The price. Sponsorship and house tiers, and flat fees, are not auctioned: they clear at their own
 * rate ('fixed'). Standard and price-priority tiers run the placement's auction:
 *   first_price: the winner pays its eCPM;
 *   second_price (default): the winner pays the eCPM of the next candidate ranked below it IN ITS TIER
 *   that could have won (eligible, not excluded by the same-advertiser rule; with several slots, the
 *   next one down, as in a generalised second-price auction) plus 1 micro, at least the floor and at
 *   most its own eCPM. With no such runner-up it pays the floor (capped at its eCPM).
 */
function toAd(ctx: Ctx, sp: ServingPlacement, sli: ServingLineItem, bid: number, runner: number): Ad {
  let auction: AuctionKind;
  let clearing: number;
  if (!floorApplies(sli)) {
    auction = 'fixed';
    clearing = bid;
  } else if (sp.placement.auction === 'first_price') {
    auction = 'first_price';
    clearing = bid;
  } else {
    auction = 'second_price';
    clearing = Math.min(bid, Math.max(sp.placement.floorMicros, runner < 0 ? 0 : runner + 1));
  }
  const charge =
    sli.pricingModel === 'cpm' || sli.pricingModel === 'flat' || auction !== 'second_price'
      ? sli.pricingModel === 'cpm'
        ? clearing
        : sli.rateMicros
      : bid === 0
        ? 0
        : mulDivFloor(sli.rateMicros, clearing, bid);
  const creative = rotate(sli, sp, drawOf(ctx.salt, sli.idHash, ctx.slot++));
  return {
    lineItemId: sli.id,
    campaignId: sli.campaignId,
    advertiserId: sli.advertiserId,
    creativeId: creative.id,
    creative,
    priority: sli.priority,
    pricingModel: sli.pricingModel,
    bidEcpmMicros: bid,
    clearingEcpmMicros: clearing,
    chargeRateMicros: charge,
    auction,
  };
}

/**
 * Creative rotation: weighted random among the creatives that fit the placement and are not blocked.
 * 'optimized' rotation falls back to weighted until the click model (capability 9) can rank them.
 */
function rotate(sli: ServingLineItem, sp: ServingPlacement, draw: number): Creative {
  let total = 0;
  let last: ServingCreative | undefined;
  for (const c of sli.creatives) {
    if (fitsPlacement(c, sp) && !blocked(c, sp)) {
      total += c.weight;
      last = c;
    }
  }
  let r = draw * total;
  for (const c of sli.creatives) {
    if (!fitsPlacement(c, sp) || blocked(c, sp)) continue;
    r -= c.weight;
    if (r < 0) return c.creative;
  }
  return last!.creative; // eligibility guaranteed one
}
