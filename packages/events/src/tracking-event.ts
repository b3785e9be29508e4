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
  /** What the event is worth (cost of an impression, conversion value), integer micros; 0 when none. */
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
}
