/**
 * The claims of a benchmark's signed tracking tokens: one per served ad, the ids and price from the caller
 * (real line items where a server checks them), the rest fixed. Shared by the tracking benchmarks so that
 * they sign tokens of the same shape and size.
 */
import { randomUUID } from 'node:crypto';
import type { TrackingClaims, UrlSigner } from '../packages/tracking/src/url-signer.ts';

export interface BenchAd {
  readonly lineItemId: string;
  readonly placementId: string;
  readonly priceMicros: number;
  readonly creativeId?: string;
  readonly campaignId?: string;
  readonly advertiserId?: string;
  readonly siteId?: string;
  readonly publisherId?: string;
}

/** The claims of the `i`-th ad (a decision of its own; users cycle over 10,000 keys), valid for an hour. */
export function benchClaims(ad: BenchAd, i: number, now: number): TrackingClaims {
  return {
    decisionId: randomUUID(),
    lineItemId: ad.lineItemId,
    creativeId: ad.creativeId ?? 'cr_bench',
    campaignId: ad.campaignId ?? 'cmp_bench',
    advertiserId: ad.advertiserId ?? 'adv_bench',
    placementId: ad.placementId,
    siteId: ad.siteId ?? 'site_bench',
    publisherId: ad.publisherId ?? 'pub_bench',
    priceMicros: ad.priceMicros,
    pricingModel: 'cpm',
    currency: 'USD',
    iat: now,
    exp: now + 3_600_000,
    userKey: `u-${i % 10_000}`,
    country: 'US',
    device: 'desktop',
  };
}

/** Signed impression tokens of `n` distinct decisions over `ads` (so dedup never short-circuits). */
export function signedTokens(signer: UrlSigner, n: number, ads: readonly BenchAd[]): string[] {
  const now = Date.now();
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = signer.sign(benchClaims(ads[i % ads.length]!, i, now));
  return out;
}
