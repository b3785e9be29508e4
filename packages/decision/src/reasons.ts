/**
 * Why a candidate line item did not serve. Every rejected candidate gets exactly one code: the
 * first rule it failed, in the order decide() checks them (cheapest first).
 */
export const REJECT_REASONS = [
  'status', // line item, campaign or advertiser not active (snapshot-time)
  'no_active_creative', // no assigned creative is active and approved (snapshot-time)
  'flight', // outside its flight (line item and campaign start/end)
  'day_parting', // outside its day-parting schedule, in its own time zone
  'targeting', // targeting expression does not match the request
  'blocked_advertiser', // the publisher blocks this advertiser
  'currency_mismatch', // line item and placement are priced in different currencies
  'no_fitting_creative', // no creative fits the placement's formats and sizes
  'blocked_category', // every fitting creative carries a category the publisher blocks
  'below_floor', // eCPM below the placement's floor (standard and price-priority tiers)
  'frequency_cap', // the user has reached one of its caps
  'pacing', // budget or impression goal spent, or held back by the pacing gate
  'same_advertiser', // another ad of its advertiser already serves in this request
  'same_line_item', // the line item already serves on another placement of this request
  'lower_priority', // eligible, but a higher tier filled the placement
  'outbid', // eligible, same tier, lower eCPM
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Why a placement got no ad. */
export const NO_FILL_REASONS = [
  'unknown_placement', // no such placement in the snapshot
  'inactive_placement', // the placement, its site or its publisher is not active
  'no_match', // no line item's targeting matches (and fits) the request
  'no_eligible', // candidates matched but every one was rejected (see explain)
] as const;
export type NoFillReason = (typeof NO_FILL_REASONS)[number];
