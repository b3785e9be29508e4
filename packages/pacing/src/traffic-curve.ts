/**
 * How traffic spreads over the hours of a day: 24 weights (local hours 0-23) summing to 1. Even
 * pacing spends the budget in proportion to it, so a line item follows its audience (little at
 * night, more at the peaks) instead of spending the same every hour.
 *
 * Marquee learns curves from its own log: the reporting rollups count requests per placement and
 * local hour and feed them here (TrafficCurves.observe); until then the curve is flat.
 */
export class TrafficCurve {
  readonly weights: readonly number[];

  private constructor(weights: readonly number[]) {
    this.weights = weights;
  }

  private static readonly FLAT = new TrafficCurve(Object.freeze(Array.from({ length: 24 }, () => 1 / 24)));

  static flat(): TrafficCurve {
    return TrafficCurve.FLAT;
  }

  /**
   * From request counts per local hour (24 numbers). `floorShare` keeps every hour at least that
   * share of a flat hour, so an hour with no history still gets a little budget.
   */
  static fromHourlyCounts(counts: ArrayLike<number>, floorShare = 0.05): TrafficCurve {
    if (counts.length !== 24) throw new RangeError('a traffic curve needs 24 hourly counts');
    let total = 0;
    for (let h = 0; h < 24; h++) {
      const c = counts[h]!;
      if (!(c >= 0) || !Number.isFinite(c)) throw new RangeError('hourly counts must be finite and non-negative');
      total += c;
    }
    if (total === 0) return TrafficCurve.FLAT;
    const raw = Array.from({ length: 24 }, (_, h) => Math.max(counts[h]! / total, floorShare / 24));
    const sum = raw.reduce((a, b) => a + b, 0);
    return new TrafficCurve(Object.freeze(raw.map((w) => w / sum)));
  }

  /** The weight of a local hour (0-23). */
  weight(hour: number): number {
    return this.weights[hour] ?? 0;
  }
}

/**
 * Curves per placement, learned from hourly request counts. A line item serving on several
 * placements follows their sum; with no data it follows the network's sum, or flat.
 */
export class TrafficCurves {
  private readonly counts = new Map<string, Float64Array>();
  private cache = new Map<string, TrafficCurve>();

  /** Replaces a placement's hourly request counts (e.g. the last 28 days, by local hour). */
  observe(placementId: string, hourlyCounts: ArrayLike<number>): void {
    if (hourlyCounts.length !== 24) throw new RangeError('a traffic curve needs 24 hourly counts');
    this.counts.set(placementId, Float64Array.from(hourlyCounts));
    this.cache = new Map();
  }

  /** The curve of these placements together (all placements when none are named). */
  curve(placementIds?: readonly string[]): TrafficCurve {
    const key = placementIds ? placementIds.join('\u0000') : '*';
    const hit = this.cache.get(key);
    if (hit) return hit;
    const sum = new Float64Array(24);
    let any = false;
    for (const [id, c] of this.counts) {
      if (placementIds && !placementIds.includes(id)) continue;
      any = true;
      for (let h = 0; h < 24; h++) sum[h]! += c[h]!;
    }
    const curve = any ? TrafficCurve.fromHourlyCounts(sum) : TrafficCurve.flat();
    this.cache.set(key, curve);
    return curve;
  }
}
