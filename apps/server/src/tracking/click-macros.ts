/**
 * Macros in a landing URL, expanded by the click redirect. The URL itself comes from a verified signature
 * (the creative's click URL at decision time), so only values are substituted, never destinations.
 *
 * | macro              | value                                                        |
 * | {click_id}         | the decision id of the clicked ad (send it back with conversions) |
 * | {decision_id}      | same as {click_id}                                           |
 * | {line_item_id} {campaign_id} {creative_id} {advertiser_id} | the ad's ids         |
 * | {placement_id} {site_id} {publisher_id} | where it was shown                       |
 * | {cachebuster}      | a random number                                               |
 *
 * Each is also recognised percent-encoded (%7Bclick_id%7D), as URL editors store it. Values are
 * percent-encoded. Unknown macros are left as they are.
 */
import type { TrackingClaims } from '@marquee/tracking';

const MACRO = /\{([a-z_]{2,20})\}|%7B([a-z_]{2,20})%7D/gi;

export function expandLandingMacros(url: string, claims: TrackingClaims, cachebuster: string): string {
  if (!url.includes('{') && !/%7B/i.test(url)) return url;
  return url.replace(MACRO, (whole, a: string | undefined, b: string | undefined) => {
    const value = macroValue(((a ?? b) as string).toLowerCase(), claims, cachebuster);
    return value === undefined ? whole : encodeURIComponent(value);
  });
}

function macroValue(name: string, c: TrackingClaims, cachebuster: string): string | undefined {
  switch (name) {
    case 'click_id':
    case 'decision_id':
      return c.decisionId;
    case 'line_item_id':
      return c.lineItemId;
    case 'campaign_id':
      return c.campaignId;
    case 'creative_id':
      return c.creativeId;
    case 'advertiser_id':
      return c.advertiserId;
    case 'placement_id':
      return c.placementId;
    case 'site_id':
      return c.siteId;
    case 'publisher_id':
      return c.publisherId;
    case 'cachebuster':
      return cachebuster;
    default:
      return undefined;
  }
}
