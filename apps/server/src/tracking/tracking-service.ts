/**
 * Turns tracking hits into events with a verdict, stores them durably, and only then lets them count.
 *
 *   inspect (sync: signature, expiry, shape)  ->  dedup claim (sync in memory, one round trip in Redis)
 *   ->  commit: ONE eventLog.append for the whole batch  ->  effects of the valid events (spend counters,
 *   attribution memory)  ->  the caller answers the client.
 *
 * Every hit yields exactly one event. Invalid events (bad signature, expired, duplicate, preview, ...) are
 * stored with priceMicros 0 and never reach the spend counters. If the append fails, the dedup claims are
 * given back and the caller answers an error so the client retries; nothing counted.
 */
import { randomUUID } from 'node:crypto';
import { parseMicros } from '@marquee/core';
import type { InMemorySpendCounters, ServingSnapshot } from '@marquee/decision';
import { type EventLog, encodeEvents, type TrackingEvent } from '@marquee/events';
import type { TrackingClaims, TrackingEventKind, UrlSigner } from '@marquee/tracking';
import type { AttributionIndex } from './attribution-index.ts';
import type { ClaimRequest, Deduplicator } from './deduplicator.ts';

export type TokenKind = TrackingEventKind;

/** Reasons of invalid events written by this module (docs/tracking.md lists them). */
export type InvalidReason =
  | 'malformed'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'duplicate'
  | 'preview'
  | 'bad_name'
  | 'no_click_url'
  | 'unknown_advertiser'
  | 'bad_secret';

export interface HitMeta {
  readonly ip: string;
  readonly ua: string;
  /** 'pixel' (GET), 'beacon' (POST), 'redirect' (click), 'postback', 'batch'. */
  readonly source: string;
}

export interface ConversionInput {
  readonly advertiserId: string;
  /** Decimal order value as sent ("19.99"); '' when none. */
  readonly value: string;
  readonly orderId: string;
  readonly userKey: string;
  readonly clickId: string;
  readonly currency: string;
}

/** A hit judged up to the dedup step: its event (valid so far) and the claim that decides duplicates. */
export interface Judged {
  event: TrackingEvent;
  claim: ClaimRequest | null;
  /**
   * The claims of a genuinely signed click token, valid or expired (the click redirect needs its url); null for
   * other kinds (their event carries all they need, and a batch would keep every claims object alive until durable).
   */
  readonly claims: TrackingClaims | null;
}

export interface TrackingServiceDeps {
  readonly log: EventLog;
  readonly signer: UrlSigner;
  readonly dedup: Deduplicator;
  readonly attribution: AttributionIndex;
  readonly spend: InMemorySpendCounters;
  readonly snapshot: () => ServingSnapshot;
  readonly now: () => number;
  /** Clicks counted per decision (default 1). */
  readonly maxClicksPerDecision: number;
  /** How long an order id is remembered for conversion dedup. */
  readonly conversionDedupMs: number;
  /** Called with every committed batch (metrics). */
  readonly onCommitted?: (events: readonly TrackingEvent[]) => void;
}

interface SpendSum {
  readonly lineItemId: string;
  readonly day: string;
  spend: number;
  impressions: number;
}

const NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const ORDER_RE = /^[\x21-\x7e]{1,128}$/;
const KEY_RE = /^[\x21-\x7e]{1,128}$/;

export class TrackingService {
  constructor(private readonly deps: TrackingServiceDeps) {}

  get log(): EventLog {
    return this.deps.log;
  }

  /** Checks a signed token (or the `preview` placeholder of explain runs). Synchronous, never throws. */
  inspectToken(kind: TokenKind, token: string, name: string | undefined, meta: HitMeta, nowMs: number): Judged {
    if (token === 'preview') return invalid(blankEvent(kind, nowMs, meta, name), 'preview');
    const result = this.deps.signer.verify(kind, token, nowMs);
    if (result.kind === 'invalid') {
      // Expired tokens carry a genuine signature: their ids are facts worth reporting. Forged or unreadable
      // ones do not: their ids are left out so an attacker cannot invent report dimensions.
      const base =
        result.reason === 'expired' && result.claims
          ? eventFromClaims(kind, result.claims, nowMs, meta, name)
          : blankEvent(kind, nowMs, meta, name);
      // An expired click still carries a destination Marquee signed: the redirect may use it (not billed).
      const genuine = result.reason === 'expired' && kind === 'click' ? (result.claims ?? null) : null;
      return { event: invalidEvent(base, result.reason), claim: null, claims: genuine };
    }
    const claims = result.claims;
    const event = eventFromClaims(kind, claims, nowMs, meta, name);
    if (kind === 'custom' && (name === undefined || !NAME_RE.test(name))) {
      return { event: invalidEvent(event, 'bad_name'), claim: null, claims: null };
    }
    if (kind === 'click') {
      // One token serves every kind of an ad: a click counts only if the decision signed a destination.
      if (!claims.url) return { event: invalidEvent(event, 'no_click_url'), claim: null, claims };
      const claim = {
        key: `click:${claims.decisionId}`,
        limit: this.deps.maxClicksPerDecision,
        expiresAtMs: claims.exp,
      };
      return { event, claim, claims };
    }
    const key = kind === 'custom' ? `custom:${name}:${claims.decisionId}` : `${kind}:${claims.decisionId}`;
    return { event, claim: { key, limit: 1, expiresAtMs: claims.exp }, claims: null };
  }

  /** A conversion (pixel, postback or batch): attribution and the CPA charge. Synchronous, never throws. */
  inspectConversion(input: ConversionInput, meta: HitMeta, nowMs: number): Judged {
    const advertiser = this.deps.snapshot().source.maps.advertiser.get(input.advertiserId);
    const valueMicros = input.value === '' ? 0 : parseMicros(input.value);
    const orderId = input.orderId;
    const userKey = input.userKey;
    const base = conversionEvent(nowMs, meta, input, valueMicros ?? 0);
    if (
      valueMicros === undefined ||
      (orderId !== '' && !ORDER_RE.test(orderId)) ||
      (userKey !== '' && !KEY_RE.test(userKey)) ||
      (input.clickId !== '' && !KEY_RE.test(input.clickId))
    ) {
      return invalid({ ...base, advertiserId: '', orderId: '', userKey: '' }, 'malformed');
    }
    if (!advertiser) return invalid({ ...base, advertiserId: '' }, 'unknown_advertiser');
    const attributed = this.deps.attribution.attribute(input.advertiserId, userKey, input.clickId, nowMs);
    let event: TrackingEvent = base;
    if (attributed.kind !== 'none') {
      const t = attributed.touch;
      event = {
        ...base,
        decisionId: t.decisionId,
        lineItemId: t.lineItemId,
        creativeId: t.creativeId,
        campaignId: t.campaignId,
        publisherId: t.publisherId,
        siteId: t.siteId,
        placementId: t.placementId,
        country: t.country,
        deviceType: t.deviceType,
        userKey: userKey || t.userKey,
        // CPA line items are charged per attributed conversion; others were charged for impressions or clicks.
        priceMicros: t.pricingModel === 'cpa' ? t.rateMicros : 0,
        pricingModel: t.pricingModel,
        currency: t.currency,
        rateMicros: t.rateMicros,
        attribution: attributed.kind,
      };
    }
    const claim = orderId
      ? { key: `conv:${input.advertiserId}:${orderId}`, limit: 1, expiresAtMs: nowMs + this.deps.conversionDedupMs }
      : null;
    return { event, claim, claims: null };
  }

  /**
   * Applies the dedup claims of judged hits (in order), turning refused ones into invalid 'duplicate'
   * events. Synchronous with an in-memory deduplicator.
   */
  settle(judged: Judged[]): Judged[] | Promise<Judged[]> {
    const claims: ClaimRequest[] = [];
    for (const j of judged) if (j.claim) claims.push(j.claim);
    if (claims.length === 0) return judged;
    const results = this.deps.dedup.claimMany(claims);
    const apply = (ok: boolean[]) => {
      let i = 0;
      for (const j of judged) {
        if (!j.claim) continue;
        if (!ok[i++]) {
          j.event = invalidEvent(j.event, 'duplicate');
          j.claim = null; // nothing to give back if the append fails
        }
      }
      return judged;
    };
    return Array.isArray(results) ? apply(results) : results.then(apply);
  }

  /**
   * Appends the events durably (one append for the batch), then applies the effects of the valid ones.
   * On failure gives the dedup claims back and rethrows: the caller must not acknowledge.
   */
  async commit(judged: readonly Judged[]): Promise<void> {
    const events = judged.map((j) => j.event);
    try {
      await this.deps.log.append(encodeEvents(events));
    } catch (err) {
      for (const j of judged) if (j.claim && j.event.verdict === 'valid') await this.deps.dedup.release(j.claim.key);
      throw err;
    }
    this.applyEffects(events);
    this.deps.onCommitted?.(events);
  }

  /**
   * Spend counters and attribution memory from durable events (also used by the rebuild on start).
   * Performance: a batch's spend is summed per (line item, local day) and added once per pair, and the local day
   * (a time-zone conversion) is computed once per line item and millisecond: a batch shares one `tsMs`.
   */
  applyEffects(events: readonly TrackingEvent[], snapshot: ServingSnapshot = this.deps.snapshot()): void {
    const sums = new Map<string, SpendSum>();
    // The sum each line item's events go to, with the ms it was found for: one lookup by line item per event,
    // no key string and no time-zone conversion unless the line item or the ms changes.
    const byLineItem = new Map<string, { tsMs: number; sum: SpendSum }>();
    for (const e of events) {
      if (e.verdict !== 'valid') continue;
      if (e.kind === 'impression' || e.kind === 'click') this.deps.attribution.record(e);
      const impressions = e.kind === 'impression' ? 1 : 0;
      if ((e.priceMicros > 0 || impressions > 0) && e.lineItemId) {
        let at = byLineItem.get(e.lineItemId);
        if (at === undefined || at.tsMs !== e.tsMs) {
          const li = snapshot.lineItemById.get(e.lineItemId);
          // Daily budgets are kept per local day of the line item's zone.
          const day = li ? li.clock.localDay(e.tsMs) : new Date(e.tsMs).toISOString().slice(0, 10);
          const key = `${e.lineItemId}\u0000${day}`;
          let sum = sums.get(key);
          if (sum === undefined) {
            sum = { lineItemId: e.lineItemId, day, spend: 0, impressions: 0 };
            sums.set(key, sum);
          }
          if (at === undefined) {
            at = { tsMs: e.tsMs, sum };
            byLineItem.set(e.lineItemId, at);
          } else {
            at.tsMs = e.tsMs;
            at.sum = sum;
          }
        }
        at.sum.spend += e.priceMicros;
        at.sum.impressions += impressions;
      }
    }
    for (const s of sums.values()) this.deps.spend.add(s.lineItemId, s.day, s.spend, s.impressions);
  }

  /**
   * One hit, end to end: inspect, settle, commit. Resolves with the judged hit once durable.
   * Performance: the hits settled in one event-loop turn (the requests parsed from one poll of the sockets) are
   * committed together on the next setImmediate: one encode pass, one append, one pass of effects and metrics
   * for the lot instead of one each, and each request still waits for the fsync that covers its own event.
   * The dedup claim is still made per hit, at once, in arrival order.
   */
  trackToken(kind: TokenKind, token: string, name: string | undefined, meta: HitMeta): Promise<Judged> {
    return new Promise<Judged>((resolve, reject) => this.trackTokenThen(kind, token, name, meta, resolve, reject));
  }

  /**
   * trackToken with callbacks instead of a promise (the pixel fast path: no promise and no closure per hit).
   * Exactly one of them is called: `resolve` once the hit's event is durable, `reject` if it could not be stored
   * (its claim given back) or the hit could not be judged. Never throws.
   */
  trackTokenThen(
    kind: TokenKind,
    token: string,
    name: string | undefined,
    meta: HitMeta,
    resolve: (j: Judged) => void,
    reject: (err: unknown) => void,
  ): void {
    try {
      const judged = this.inspectToken(kind, token, name, meta, this.deps.now());
      const claim = judged.claim;
      if (claim === null) {
        this.commitSoon(judged, resolve, reject);
        return;
      }
      const ok = this.deps.dedup.claim(claim);
      if (typeof ok === 'boolean') {
        this.commitSoon(this.claimed(judged, ok), resolve, reject);
        return;
      }
      ok.then((accepted) => this.commitSoon(this.claimed(judged, accepted), resolve, reject), reject);
    } catch (err) {
      reject(err); // the caller answers 503, never a throw
    }
  }

  /** A hit whose claim was refused becomes an invalid 'duplicate' event (nothing to give back on failure). */
  private claimed(j: Judged, accepted: boolean): Judged {
    if (!accepted) {
      j.event = invalidEvent(j.event, 'duplicate');
      j.claim = null;
    }
    return j;
  }

  /** Hits waiting for the commit of this turn, and their requests' callbacks (same index). */
  private queued: Judged[] = [];
  private resolves: ((j: Judged) => void)[] = [];
  private rejects: ((err: unknown) => void)[] = [];
  private flushScheduled = false;

  private commitSoon(judged: Judged, resolve: (j: Judged) => void, reject: (err: unknown) => void): void {
    this.queued.push(judged);
    this.resolves.push(resolve);
    this.rejects.push(reject);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushQueued);
    }
  }

  private readonly flushQueued = (): void => {
    this.flushScheduled = false;
    const judged = this.queued;
    const resolves = this.resolves;
    const rejects = this.rejects;
    this.queued = [];
    this.resolves = [];
    this.rejects = [];
    // commit() gives back the claims of the whole batch and rejects if the append fails: no request of it is
    // acknowledged, every client may retry.
    this.commit(judged).then(
      () => {
        for (let i = 0; i < resolves.length; i++) settleOne(resolves[i]!, judged[i]!);
      },
      (err: unknown) => {
        for (const reject of rejects) settleOne(reject, err);
      },
    );
  };

  async trackConversion(input: ConversionInput, meta: HitMeta): Promise<Judged> {
    const nowMs = this.deps.now();
    const settled = this.settle([this.inspectConversion(input, meta, nowMs)]);
    const [j] = Array.isArray(settled) ? settled : await settled;
    await this.commit([j!]);
    return j!;
  }
}

/** Fixed field order (kind first: the rebuild skips request events by their first bytes). */
function makeEvent(
  kind: TrackingEvent['kind'],
  tsMs: number,
  c: Partial<TrackingClaims> | null,
  meta: HitMeta,
  priceMicros: number,
): TrackingEvent {
  return {
    kind,
    eventId: randomUUID(),
    decisionId: c?.decisionId ?? '',
    lineItemId: c?.lineItemId ?? '',
    creativeId: c?.creativeId ?? '',
    advertiserId: c?.advertiserId ?? '',
    campaignId: c?.campaignId ?? '',
    publisherId: c?.publisherId ?? '',
    siteId: c?.siteId ?? '',
    placementId: c?.placementId ?? '',
    tsMs,
    priceMicros,
    country: c?.country ?? '',
    deviceType: c?.device ?? '',
    userKey: c?.userKey ?? '',
    verdict: 'valid',
    reason: '',
    ip: meta.ip,
    ua: meta.ua.length > 512 ? meta.ua.slice(0, 512) : meta.ua,
    source: meta.source,
  };
}

/** What one event of this kind costs under the token's pricing model. */
function chargeOf(kind: TokenKind, c: TrackingClaims): number {
  if (kind === 'impression' && c.pricingModel === 'cpm') return c.priceMicros;
  if (kind === 'click' && c.pricingModel === 'cpc') return c.priceMicros;
  return 0;
}

function eventFromClaims(
  kind: TokenKind,
  c: TrackingClaims,
  nowMs: number,
  meta: HitMeta,
  name: string | undefined,
): TrackingEvent {
  // One literal in the fixed field order of makeEvent plus the token's pricing (no intermediate object: this
  // runs once per event of a batch).
  const e: TrackingEvent = {
    kind,
    eventId: randomUUID(),
    decisionId: c.decisionId,
    lineItemId: c.lineItemId,
    creativeId: c.creativeId,
    advertiserId: c.advertiserId,
    campaignId: c.campaignId,
    publisherId: c.publisherId,
    siteId: c.siteId,
    placementId: c.placementId,
    tsMs: nowMs,
    priceMicros: chargeOf(kind, c),
    country: c.country,
    deviceType: c.device,
    userKey: c.userKey,
    verdict: 'valid',
    reason: '',
    ip: meta.ip,
    ua: meta.ua.length > 512 ? meta.ua.slice(0, 512) : meta.ua,
    source: meta.source,
    pricingModel: c.pricingModel,
    currency: c.currency,
    rateMicros: c.priceMicros,
  };
  return kind === 'custom' ? { ...e, name: (name ?? '').slice(0, 64) } : e;
}

function blankEvent(kind: TokenKind, nowMs: number, meta: HitMeta, name: string | undefined): TrackingEvent {
  const e = makeEvent(kind, nowMs, null, meta, 0);
  return kind === 'custom' ? { ...e, name: (name ?? '').slice(0, 64) } : e;
}

function conversionEvent(nowMs: number, meta: HitMeta, input: ConversionInput, valueMicros: number): TrackingEvent {
  const e = makeEvent('conversion', nowMs, { advertiserId: input.advertiserId.slice(0, 64) }, meta, 0);
  return {
    ...e,
    userKey: input.userKey.slice(0, 128),
    valueMicros,
    orderId: input.orderId.slice(0, 128),
    attribution: '',
    ...(input.currency ? { currency: input.currency.slice(0, 3) } : {}),
  };
}

/** Records a hit refused before any check (a postback with a wrong secret). */
export function refusedEvent(kind: TrackingEvent['kind'], nowMs: number, meta: HitMeta, reason: InvalidReason): Judged {
  return invalid(makeEvent(kind, nowMs, null, meta, 0), reason);
}

function invalidEvent(e: TrackingEvent, reason: InvalidReason): TrackingEvent {
  return { ...e, verdict: 'invalid', reason, priceMicros: 0 };
}

function invalid(e: TrackingEvent, reason: InvalidReason): Judged {
  return { event: invalidEvent(e, reason), claim: null, claims: null };
}

/**
 * Calls one request's callback of a shared commit: a callback that throws must neither leave the other requests
 * of the batch unanswered nor escape as an unhandled rejection (which would end the process).
 */
function settleOne<T>(callback: (value: T) => void, value: T): void {
  try {
    callback(value);
  } catch {
    // Only this request's own answer failed (e.g. its socket is gone); the batch's outcome stands for the others.
  }
}
