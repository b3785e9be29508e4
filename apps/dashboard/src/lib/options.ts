/** Enumerations for pickers, typed against the core model so they cannot drift from the API. */
import type { Creative, FrequencyCap, LineItem, Placement, User } from '@marquee/core';

const opts = <T extends string>(values: readonly T[], labels: Partial<Record<T, string>> = {}) =>
  values.map((value) => ({ value, label: labels[value] ?? value.replace(/_/g, ' ') }));

export const STATUS_OPTIONS = opts<LineItem['status']>(['draft', 'active', 'paused', 'archived']);
export const PRIORITY_OPTIONS = opts<LineItem['priority']>(['sponsorship', 'standard', 'price_priority', 'house'], {
  price_priority: 'price priority',
});
export const PRICING_OPTIONS = opts<LineItem['pricingModel']>(['cpm', 'cpc', 'cpa', 'flat'], {
  cpm: 'CPM (per 1,000 impressions)',
  cpc: 'CPC (per click)',
  cpa: 'CPA (per conversion)',
  flat: 'Flat (per day)',
});
export const PACING_OPTIONS = opts<LineItem['pacing']>(['even', 'frontloaded', 'asap'], {
  even: 'Even through the day',
  frontloaded: 'Front-loaded',
  asap: 'As fast as possible',
});
export const ROTATION_OPTIONS = opts<LineItem['rotation']>(['weighted', 'optimized']);
export const CAP_WINDOW_OPTIONS = opts<FrequencyCap['per']>(['minute', 'hour', 'day', 'week', 'lifetime']);
export const CREATIVE_KIND_OPTIONS = opts<Creative['kind']>(['image', 'html', 'native', 'vast'], {
  image: 'Image banner',
  html: 'HTML / third-party tag',
  native: 'Native',
  vast: 'VAST video',
});
export const APPROVAL_OPTIONS = opts<Creative['approval']>(['pending', 'approved', 'rejected']);
export const FORMAT_OPTIONS = opts<Placement['formats'][number]>(['banner', 'native', 'video']);
export const AUCTION_OPTIONS = opts<Placement['auction']>(['first_price', 'second_price']);
export const ROLE_OPTIONS = opts<User['role']>(['admin', 'advertiser', 'publisher', 'readonly'], {
  readonly: 'read-only',
});
export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** IAB standard sizes offered as one-click choices. */
export const COMMON_SIZES = ['300x250', '728x90', '320x50', '160x600', '300x600', '970x250', '320x100', '468x60'];
