/**
 * The raw tracking event: one line of the append-only log, and the unit rollups aggregate.
 * Every field is always present (fixed shape, so encoding is fast and rollup keys are never NULL):
 * an id that does not apply (a request that filled nothing has no line item) is the empty string.
 */
export const EVENT_KINDS = [
  'request',
  'impression',
  'viewable',
  'click',
  'conversion',
  'custom',
  'win',
  'billing',
  'loss',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export type Verdict = 'valid' | 'invalid';

export interface TrackingEvent {
  readonly kind: EventKind;
  /** Unique per event: the dedup key (also the JetStream Nats-Msg-Id). */
  readonly eventId: string;
  readonly decisionId: string;
  readonly lineItemId: string;
  readonly creativeId: string;
  readonly advertiserId: string;
  readonly campaignId: string;
  readonly publisherId: string;
  readonly siteId: string;
  readonly placementId: string;
  /** When the event happened, Unix epoch milliseconds. */
  readonly tsMs: number;
  /**
   * What the advertiser is charged for THIS event, integer micros: the per-impression price of a CPM
   * impression, the CPC price of a click, the CPA price of an attributed conversion; 0 for events that are
   * not the billable unit of their line item (a CPC impression, a viewable, a custom event, a request) and
   * ALWAYS 0 when `verdict` is 'invalid'. Spend = sum of priceMicros over valid events.
   * (A conversion's order value is `valueMicros`, not this.)
   */
  readonly priceMicros: number;
  /** ISO 3166-1 alpha-2, or '' when unknown. */
  readonly country: string;
  readonly deviceType: string;
  /** A pseudonymous user key (hashed id), '' when none. */
  readonly userKey: string;
  /** Invalid events are logged and reported but never billed. */
  readonly verdict: Verdict;
  /** Why the verdict is `invalid` (e.g. 'bad_signature', 'duplicate', 'bot'); '' for valid events. */
  readonly reason: string;
  /** Name of a custom event. */
  readonly name?: string;
  readonly ip?: string;
  readonly ua?: string;
  // Optional fields added by the tracking endpoints (absent on events written before them).
  /** The line item's pricing model, from the signed token: which event kind is billable. */
  readonly pricingModel?: 'cpm' | 'cpc' | 'cpa' | 'flat';
  /** ISO 4217 currency of priceMicros/rateMicros (the line item's). */
  readonly currency?: string;
  /** The signed per-unit rate of the line item (per impression, click or conversion by pricingModel), micros. */
  readonly rateMicros?: number;
  /** Conversions: the order value the advertiser reported, integer micros (0 when none). */
  readonly valueMicros?: number;
  /** Conversions: the advertiser's order id (conversions are deduplicated by advertiser and order id). */
  readonly orderId?: string;
  /** Conversions: what the conversion was attributed to ('click', 'view', or '' when unattributed). */
  readonly attribution?: 'click' | 'view' | '';
  /** How the event arrived: 'pixel' (GET), 'beacon' (POST), 'redirect' (click), 'postback', 'batch', 'decision'. */
  readonly source?: string;
}
