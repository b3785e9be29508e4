/**
 * The decision API's work between HTTP and the pure core: normalise the request, enrich it (geo, device),
 * prefetch the user's frequency-cap counts (the only I/O, skipped when no candidate has a cap), call the
 * synchronous decide(), and turn each chosen ad into a response with signed, expiring tracking URLs.
 */
import { randomUUID } from 'node:crypto';
import { type Creative, cpmToImpressionMicros } from '@marquee/core';
import type { FrequencyCapStore } from '@marquee/counters';
import {
  type Ad,
  type DecisionRequest as CoreRequest,
  cappedCandidates,
  type Decision,
  decide,
  type FrequencyCapView,
  NO_CAPS,
  type PacingGate,
  type Rng,
  type ServingSnapshot,
} from '@marquee/decision';
import type { TrackingClaims, UrlSigner } from '@marquee/tracking';
import type { Static } from 'typebox';
import type { DecisionRequest, ServedAd } from './decision-schemas.ts';
import { creativeHtml } from './html-click-macros.ts';
import type { Enrichment, RequestEnricher } from './request-enricher.ts';

export type DecisionBody = Static<typeof DecisionRequest>;
export type ServedAdBody = Static<typeof ServedAd>;

export interface DecisionServiceDeps {
  readonly snapshot: () => ServingSnapshot;
  readonly signer: UrlSigner;
  readonly enricher: RequestEnricher;
  readonly caps: FrequencyCapStore;
  readonly pacing: (snapshot: ServingSnapshot) => PacingGate;
  /** Absolute URL of asset files by asset id (resolved off the hot path by the serving state). */
  readonly assetUrl: (assetId: string) => string | undefined;
  readonly publicUrl: string;
  readonly trackingTtlMs: number;
  readonly now: () => number;
  readonly rng: Rng;
  readonly onError: (err: unknown, what: string) => void;
  /** Called after every real (not dry-run) decision, before the response: must not block (request events). */
  readonly onDecision?: (record: DecisionRecord) => void;
}

/** What a decision served, per requested placement (one `request` event each). */
export interface DecisionRecord {
  readonly nowMs: number;
  readonly userKey: string;
  readonly country: string;
  readonly device: string;
  readonly placements: readonly {
    readonly placementId: string;
    readonly siteId: string;
    readonly publisherId: string;
    readonly ads: readonly ServedAdBody[];
  }[];
}

export interface DecisionContext {
  /** The TCP peer or the proxy's client IP, when the body does not name the end user's. */
  readonly ip: string | undefined;
  readonly userAgent: string | undefined;
  /** explain: true for everyone it may show, or the line items this caller may see. */
  readonly explain?: boolean | { readonly lineItemIds: readonly string[] };
  /** Explain and preview runs: no tracking URLs are signed, no caps recorded. */
  readonly dryRun?: boolean;
}

export interface DecisionOutcome {
  readonly requestId: string;
  readonly decisions: Record<string, ServedAdBody[]>;
  readonly noFill: Record<string, string>;
  readonly explain?: Decision['explain'];
}

const lower = (xs: readonly string[] | undefined): string[] | undefined =>
  xs && xs.length > 0 ? xs.map((x) => x.toLowerCase()) : undefined;

/** The HTTP body as the core sees it: lower-cased keywords, upper-cased geo, enrichment applied. */
export function toCoreRequest(body: DecisionBody, e: Enrichment, explain: DecisionContext['explain']): CoreRequest {
  const keywords = lower([...(body.keywords ?? []), ...(body.site?.keywords ?? [])]);
  let kv: Record<string, string | string[]> | undefined;
  if (body.kv) {
    // No prototype: a key "__proto__" (JSON.parse makes it an own key; the text/plain parser does not refuse it)
    // stays a plain key instead of replacing the object's prototype, whose keys for-in would then target.
    kv = Object.create(null) as Record<string, string | string[]>;
    for (const [k, v] of Object.entries(body.kv)) kv[k.toLowerCase()] = v;
  }
  return {
    placements: body.placements.map((p) => ({ placementId: p.id, count: p.count ?? 1 })),
    userKey: body.user?.key || undefined,
    country: e.country?.toUpperCase(),
    region: e.region?.toUpperCase(),
    device: e.device,
    os: e.os,
    browser: e.browser,
    keywords,
    categories: body.site?.categories,
    segments: body.user?.segments,
    kv,
    explain,
  };
}

export class DecisionService {
  constructor(private readonly deps: DecisionServiceDeps) {}

  /** The creative as the current snapshot has it (VAST needs the video details). */
  creativeOf(creativeId: string): Creative | undefined {
    return this.deps.snapshot().source.maps.creative.get(creativeId);
  }

  advertiserName(advertiserId: string): string {
    return this.deps.snapshot().source.maps.advertiser.get(advertiserId)?.name ?? advertiserId;
  }

  async decide(body: DecisionBody, ctx: DecisionContext): Promise<DecisionOutcome> {
    const { deps } = this;
    const snapshot = deps.snapshot();
    const nowMs = deps.now();
    const enrichment = deps.enricher.enrich(body.device?.ip ?? ctx.ip, body.device?.ua ?? ctx.userAgent);
    const request = toCoreRequest(body, enrichment, ctx.explain);
    const userKey = request.userKey;

    let caps: FrequencyCapView = NO_CAPS;
    if (userKey) {
      const capped = cappedCandidates(request, snapshot, nowMs);
      if (capped.length > 0) {
        try {
          caps = await deps.caps.load(userKey, capped, nowMs);
        } catch (err) {
          // Counters unreachable: serve without caps rather than fail the page (logged, visible in metrics).
          deps.onError(err, 'frequency cap load failed');
        }
      }
    }

    const decision = decide(request, snapshot, nowMs, deps.rng, { frequencyCaps: caps, pacing: deps.pacing(snapshot) });
    const requestId = randomUUID();
    const decisions: Record<string, ServedAdBody[]> = {};
    const noFill: Record<string, string> = {};
    const country = request.country ?? '';
    const device = request.device ?? '';
    const record: DecisionRecord['placements'][number][] | undefined = deps.onDecision && !ctx.dryRun ? [] : undefined;
    let capRecords: Promise<void>[] | undefined;
    for (const pd of decision.placements) {
      if (pd.kind === 'no_fill') {
        decisions[pd.placementId] = [];
        noFill[pd.placementId] = pd.reason;
        if (record) {
          const known = snapshot.placements.get(pd.placementId)?.placement;
          record.push({
            placementId: pd.placementId,
            siteId: known?.siteId ?? '',
            publisherId: known?.publisherId ?? '',
            ads: [],
          });
        }
        continue;
      }
      const sp = snapshot.placements.get(pd.placementId)!;
      const served: ServedAdBody[] = [];
      for (const ad of pd.ads) {
        served.push(
          this.toServedAd(ad, sp.placement.siteId, sp.placement.publisherId, pd.placementId, {
            userKey: userKey ?? '',
            country,
            device,
            nowMs,
            dryRun: ctx.dryRun === true,
            currency: snapshot.lineItemById.get(ad.lineItemId)?.currency ?? snapshot.network.currency,
          }),
        );
        if (userKey && !ctx.dryRun) {
          const recorded = this.recordCaps(snapshot, userKey, ad.lineItemId, nowMs);
          if (recorded) {
            capRecords ??= [];
            capRecords.push(recorded);
          }
        }
      }
      decisions[pd.placementId] = served;
      record?.push({
        placementId: pd.placementId,
        siteId: sp.placement.siteId,
        publisherId: sp.placement.publisherId,
        ads: served,
      });
    }
    if (record) deps.onDecision!({ nowMs, userKey: userKey ?? '', country, device, placements: record });
    // The user's next request may reach another worker or server: a capped serve is counted before the answer.
    if (capRecords) await Promise.all(capRecords);
    return decision.explain
      ? { requestId, decisions, noFill, explain: decision.explain }
      : { requestId, decisions, noFill };
  }

  /**
   * Caps count served ads. The response waits for the count of a capped serve (one round trip to the shared
   * counters, only when a capped line item was served), so the user's next request sees it on any worker or
   * server; a failed count is logged and lets one more ad through rather than failing the page.
   */
  private recordCaps(
    snapshot: ServingSnapshot,
    userKey: string,
    lineItemId: string,
    nowMs: number,
  ): Promise<void> | undefined {
    const sli = snapshot.lineItemById.get(lineItemId);
    if (!sli || sli.frequencyCaps.length === 0) return undefined;
    return this.deps.caps
      .record(userKey, lineItemId, sli.frequencyCaps, nowMs, Number.isFinite(sli.endMs) ? sli.endMs : null)
      .catch((err) => this.deps.onError(err, 'frequency cap record failed'));
  }

  private toServedAd(
    ad: Ad,
    siteId: string,
    publisherId: string,
    placementId: string,
    t: { userKey: string; country: string; device: string; nowMs: number; dryRun: boolean; currency: string },
  ): ServedAdBody {
    const { deps } = this;
    const c = ad.creative;
    const decisionId = randomUUID();
    // What one billable event of this ad costs: per impression for CPM, per click/conversion otherwise.
    const priceMicros =
      ad.pricingModel === 'cpm'
        ? cpmToImpressionMicros(ad.chargeRateMicros)
        : ad.pricingModel === 'flat'
          ? 0
          : ad.chargeRateMicros;
    const landing = c.clickUrl;
    const claims: TrackingClaims = {
      decisionId,
      lineItemId: ad.lineItemId,
      creativeId: ad.creativeId,
      campaignId: ad.campaignId,
      advertiserId: ad.advertiserId,
      placementId,
      siteId,
      publisherId,
      priceMicros,
      pricingModel: ad.pricingModel,
      currency: t.currency,
      iat: t.nowMs,
      exp: t.nowMs + deps.trackingTtlMs,
      userKey: t.userKey,
      country: t.country,
      device: t.device,
      ...(landing ? { url: landing } : {}),
    };
    // One signed token per ad, landing URL inside, for all four event kinds (the kind is in the path).
    const token = t.dryRun ? 'preview' : deps.signer.sign(claims);
    const base = `${deps.publicUrl}/t/`;
    const tail = `/${token}`;
    const clickUrl = landing ? `${base}click${tail}` : null;
    const imageUrl = c.imageUrl ?? (c.assetId ? deps.assetUrl(c.assetId) : undefined);
    const creative: ServedAdBody['creative'] = { kind: c.kind };
    if (c.kind === 'image' && imageUrl) creative.imageUrl = imageUrl;
    if (c.kind === 'html') creative.html = creativeHtml(c, clickUrl ?? '');
    if (c.kind === 'native') creative.native = c.native;
    if (c.kind === 'vast') creative.vastUrl = `${deps.publicUrl}/v1/vast?placement=${encodeURIComponent(placementId)}`;
    if (c.kind === 'image') creative.alt = c.name;
    return {
      decisionId,
      placementId,
      lineItemId: ad.lineItemId,
      creativeId: ad.creativeId,
      campaignId: ad.campaignId,
      advertiserId: ad.advertiserId,
      format: c.format,
      width: c.width ?? null,
      height: c.height ?? null,
      creative,
      clickUrl,
      tracking: {
        impression: `${base}impression${tail}`,
        viewable: `${base}viewable${tail}`,
        click: clickUrl,
        custom: `${base}custom${tail}?name={name}`,
      },
    };
  }
}
