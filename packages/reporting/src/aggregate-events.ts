/**
 * The pure half of the rollup consumer: a batch of tracking events in, hourly aggregates out. No I/O;
 * the publisher revenue shares come in as a function.
 */
import { mulDiv } from '@marquee/core';
import type { TrackingEvent } from '@marquee/events';
import type { InvalidRollupRow, RollupBatch, RollupRow } from '@marquee/store';

export const HOUR_MS = 3_600_000;
/** Revenue shares are basis points of spend: 10,000 = all of it goes to the publisher. */
export const BPS = 10_000;

/** The publisher's revenue share in basis points (0 when the publisher is unknown). */
export type RevenueShareOf = (publisherId: string) => number;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type MutableRow = Mutable<RollupRow>;

/**
 * Revenue of one event: spend × share / 10,000, rounded down per event (not per aggregated row), so the
 * result does not depend on how events happen to be batched.
 */
export function revenueOf(priceMicros: number, shareBps: number): number {
  if (priceMicros <= 0 || shareBps <= 0) return 0;
  const product = priceMicros * shareBps;
  return Number.isSafeInteger(product) ? Math.floor(product / BPS) : mulDiv(priceMicros, shareBps, BPS);
}

const SEP = '\u0001';

function keyOf(hourMs: number, e: TrackingEvent): string {
  return (
    hourMs +
    SEP +
    e.advertiserId +
    SEP +
    e.campaignId +
    SEP +
    e.lineItemId +
    SEP +
    e.creativeId +
    SEP +
    e.publisherId +
    SEP +
    e.siteId +
    SEP +
    e.placementId +
    SEP +
    e.country +
    SEP +
    e.deviceType
  );
}

function newRow(hourMs: number, e: TrackingEvent): MutableRow {
  return {
    hourMs,
    advertiserId: e.advertiserId,
    campaignId: e.campaignId,
    lineItemId: e.lineItemId,
    creativeId: e.creativeId,
    publisherId: e.publisherId,
    siteId: e.siteId,
    placementId: e.placementId,
    country: e.country,
    deviceType: e.deviceType,
    requests: 0,
    impressions: 0,
    viewableImpressions: 0,
    clicks: 0,
    conversions: 0,
    customEvents: 0,
    events: 0,
    spendMicros: 0,
    revenueMicros: 0,
    invalidEvents: 0,
  };
}

/**
 * Sums events into one row per (UTC hour, dimensions). Valid events count in their kind's measure and
 * add their positive `priceMicros` to spend (the tracker puts a price only on the billable event: the
 * impression for CPM, the click for CPC, the conversion for CPA) and the publisher's share of it to
 * revenue. Invalid events count only in `invalidEvents` and, by reason, in `invalid`: never in spend.
 *
 * Incremental: `add` may be called for many slices of a batch (the rollup consumer aggregates several log
 * reads in memory before one SQL transaction); `result` gives the sums of everything added.
 */
export class HourlyAggregator {
  private readonly rows = new Map<string, MutableRow>();
  private readonly invalid = new Map<string, Mutable<InvalidRollupRow>>();
  private count = 0;

  constructor(private readonly shareOf: RevenueShareOf) {}

  get events(): number {
    return this.count;
  }

  add(e: TrackingEvent): void {
    this.count++;
    const hourMs = Math.floor(e.tsMs / HOUR_MS) * HOUR_MS;
    const key = keyOf(hourMs, e);
    let row = this.rows.get(key);
    if (!row) {
      row = newRow(hourMs, e);
      this.rows.set(key, row);
    }
    if (e.verdict !== 'valid') {
      row.invalidEvents++;
      const reason = e.reason || 'unspecified';
      const ikey = key + SEP + reason;
      const inv = this.invalid.get(ikey);
      if (inv) inv.events++;
      else {
        const { hourMs: h, advertiserId, campaignId, lineItemId, creativeId, publisherId, siteId } = row;
        const { placementId, country, deviceType } = row;
        this.invalid.set(ikey, {
          hourMs: h,
          advertiserId,
          campaignId,
          lineItemId,
          creativeId,
          publisherId,
          siteId,
          placementId,
          country,
          deviceType,
          reason,
          events: 1,
        });
      }
      return;
    }
    row.events++;
    switch (e.kind) {
      case 'request':
        row.requests++;
        break;
      case 'impression':
        row.impressions++;
        break;
      case 'viewable':
        row.viewableImpressions++;
        break;
      case 'click':
        row.clicks++;
        break;
      case 'conversion':
        row.conversions++;
        break;
      case 'custom':
        row.customEvents++;
        break;
      default:
        // win, billing, loss: counted in `events`; a billing notice may carry the price.
        break;
    }
    if (e.priceMicros > 0) {
      row.spendMicros += e.priceMicros;
      row.revenueMicros += revenueOf(e.priceMicros, this.shareOf(e.publisherId));
      if (!Number.isSafeInteger(row.spendMicros)) throw new RangeError('spend of one rollup row passed 2^53 micros');
    }
  }

  result(): Omit<RollupBatch, 'records'> & { readonly events: number } {
    return { rows: [...this.rows.values()], invalid: [...this.invalid.values()], events: this.count };
  }
}

/** All of `events` aggregated at once (see HourlyAggregator). */
export function aggregateEvents(
  events: Iterable<TrackingEvent>,
  shareOf: RevenueShareOf,
): Omit<RollupBatch, 'records'> & { readonly events: number } {
  const aggregator = new HourlyAggregator(shareOf);
  for (const e of events) aggregator.add(e);
  return aggregator.result();
}
