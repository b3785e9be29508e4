import type { TrackingEvent } from '../tracking-event.ts';

/** A realistic event (~300 bytes encoded) for tests and benchmarks; deterministic in `n`. */
export function sampleEvent(n: number, idPrefix = 'ev'): TrackingEvent {
  const kinds = ['impression', 'impression', 'impression', 'viewable', 'click', 'request'] as const;
  return {
    kind: kinds[n % kinds.length]!,
    eventId: `${idPrefix}-${n}`,
    decisionId: `dc_${(n * 7919).toString(36)}`,
    lineItemId: `li_${(n % 97).toString()}`,
    creativeId: `cr_${(n % 389).toString()}`,
    advertiserId: `ad_${(n % 13).toString()}`,
    campaignId: `ca_${(n % 41).toString()}`,
    publisherId: `pu_${(n % 7).toString()}`,
    siteId: `si_${(n % 23).toString()}`,
    placementId: `pl_${(n % 61).toString()}`,
    tsMs: 1_767_225_600_000 + n * 3,
    priceMicros: 1_250_000 + (n % 1000) * 17,
    country: n % 3 === 0 ? 'DE' : 'US',
    deviceType: n % 2 === 0 ? 'mobile' : 'desktop',
    userKey: `u_${(n % 100_003).toString(36)}`,
    verdict: n % 50 === 0 ? 'invalid' : 'valid',
    reason: n % 50 === 0 ? 'duplicate' : '',
    ip: `203.0.113.${n % 256}`,
  };
}
