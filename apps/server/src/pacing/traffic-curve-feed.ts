/**
 * The traffic curves even pacing follows, learned from Marquee's own log: per placement, the
 * requests of the last `days` days by hour of the day, read from the hourly rollups (never on the
 * request path: `refresh` runs on a timer and swaps the curves in whole).
 *
 * A line item follows the summed curve of the placements it delivered on in that window; a line item
 * with no history follows the network's; a network with no history is flat. Rollups are by UTC hour,
 * so each zone in use gets its own rotation (the zone's offset at each UTC hour of today: exact for
 * whole-hour offsets, to the hour for the others). A prior of `priorPerHour` requests in every hour
 * keeps a thin history close to flat instead of following its noise.
 */
import type { ServingLineItem } from '@marquee/decision';
import { TrafficCurve, TrafficCurves } from '@marquee/pacing';
import type { RollupStore } from '@marquee/store';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface TrafficCurveFeedOptions {
  readonly rollups: Pick<RollupStore, 'query'>;
  /** Days of history. Default 14. */
  readonly days?: number;
  /** Pseudo-requests added to every hour of a placement's history. Default 10. */
  readonly priorPerHour?: number;
  /** At most this many rollup groups (placement × hour) are read per refresh; beyond it the history is cut short. */
  readonly maxGroups?: number;
}

interface Learned {
  /** Placement id -> requests by UTC hour (0-23). */
  readonly byPlacement: ReadonlyMap<string, Float64Array>;
  /** Line item id -> the placements it delivered on. */
  readonly placementsOf: ReadonlyMap<string, readonly string[]>;
  readonly dayStartMs: number;
}

export class TrafficCurveFeed {
  private learned: Learned = { byPlacement: new Map(), placementsOf: new Map(), dayStartMs: 0 };
  private readonly zones = new Map<string, TrafficCurves>();
  private readonly lineItemCurves = new Map<string, { zone: string; curve: TrafficCurve }>();
  private readonly days: number;
  private readonly prior: number;
  private readonly maxGroups: number;

  constructor(private readonly o: TrafficCurveFeedOptions) {
    this.days = o.days ?? 14;
    this.prior = o.priorPerHour ?? 10;
    this.maxGroups = o.maxGroups ?? 200_000;
  }

  /**
   * The curve of a line item: the same object until the next refresh (the controller re-plans the
   * day when the curve it is given changes).
   */
  curve(sli: ServingLineItem): TrafficCurve {
    const zone = sli.clock.zone;
    const hit = this.lineItemCurves.get(sli.id);
    if (hit && hit.zone === zone) return hit.curve;
    const curves = this.curvesIn(zone);
    const placements = this.learned.placementsOf.get(sli.id);
    const curve = this.learned.byPlacement.size === 0 ? TrafficCurve.flat() : curves.curve(placements);
    this.lineItemCurves.set(sli.id, { zone, curve });
    return curve;
  }

  /** Re-reads the history (the whole hours of the last `days` days) and swaps the curves in. */
  async refresh(nowMs: number): Promise<void> {
    const toMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
    const fromMs = toMs - this.days * DAY_MS;
    const [requests, delivered] = await Promise.all([
      this.o.rollups.query({
        dimensions: ['placement', 'hour'],
        timeZone: 'UTC',
        fromMs,
        toMs,
        maxGroups: this.maxGroups,
      }),
      this.o.rollups.query({
        dimensions: ['line_item', 'placement'],
        timeZone: 'UTC',
        fromMs,
        toMs,
        maxGroups: this.maxGroups,
      }),
    ]);
    const byPlacement = new Map<string, Float64Array>();
    for (const g of requests) {
      const placement = g.keys['placement']!;
      if (placement === '' || g.measures.requests <= 0) continue;
      const hour = Number(g.keys['hour']!.slice(11, 13)); // "YYYY-MM-DDTHH:00" in UTC
      let c = byPlacement.get(placement);
      if (!c) {
        c = new Float64Array(24);
        byPlacement.set(placement, c);
      }
      c[hour]! += g.measures.requests;
    }
    const placementsOf = new Map<string, string[]>();
    for (const g of delivered) {
      const lineItem = g.keys['line_item']!;
      const placement = g.keys['placement']!;
      if (lineItem === '' || !byPlacement.has(placement) || g.measures.impressions <= 0) continue;
      const list = placementsOf.get(lineItem);
      if (list) list.push(placement);
      else placementsOf.set(lineItem, [placement]);
    }
    for (const list of placementsOf.values()) list.sort();
    this.learned = { byPlacement, placementsOf, dayStartMs: Math.floor(nowMs / DAY_MS) * DAY_MS };
    this.zones.clear();
    this.lineItemCurves.clear();
  }

  /** Placements' curves by local hour of `zone`. */
  private curvesIn(zone: string): TrafficCurves {
    let curves = this.zones.get(zone);
    if (curves) return curves;
    curves = new TrafficCurves();
    const localHourOf = localHoursOfUtcHours(zone, this.learned.dayStartMs);
    for (const [placement, utc] of this.learned.byPlacement) {
      const local = new Array<number>(24).fill(this.prior);
      for (let u = 0; u < 24; u++) local[localHourOf[u]!]! += utc[u]!;
      curves.observe(placement, local);
    }
    this.zones.set(zone, curves);
    return curves;
  }
}

/** The local hour in `zone` of each UTC hour of the UTC day starting at `dayStartMs`. */
export function localHoursOfUtcHours(zone: string, dayStartMs: number): number[] {
  const f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', hour: '2-digit' });
  return Array.from({ length: 24 }, (_, u) => Number(f.format(dayStartMs + u * HOUR_MS)) % 24);
}
