import type { RatePredictor } from './ports.ts';
import type { ServingLineItem } from './serving-snapshot.ts';

export interface FixedPriors {
  /** Network-wide prior CTR in ppm (default 1,000 = 0.1%, a typical display banner). */
  readonly ctrPpm?: number;
  /** Network-wide prior conversions per click in ppm (default 20,000 = 2%). */
  readonly cvrPpm?: number;
  /** Per line item overrides, e.g. from its own delivery so far. */
  readonly perLineItem?: ReadonlyMap<string, { readonly ctrPpm?: number; readonly cvrPpm?: number }>;
}

/** The predictor until the model exists (capability 9): fixed priors, optionally per line item. */
export class FixedPriorPredictor implements RatePredictor {
  private readonly ctr: number;
  private readonly cvr: number;
  private readonly per: FixedPriors['perLineItem'];

  constructor(priors: FixedPriors = {}) {
    this.ctr = clampPpm(priors.ctrPpm ?? 1_000);
    this.cvr = clampPpm(priors.cvrPpm ?? 20_000);
    // A copy: the rates must not change under a snapshot whose rank bounds were computed from them.
    this.per = priors.perLineItem ? new Map(priors.perLineItem) : undefined;
  }
  ctrPpm(li: ServingLineItem): number {
    const o = this.per?.get(li.id)?.ctrPpm;
    return o === undefined ? this.ctr : clampPpm(o);
  }
  cvrPpm(li: ServingLineItem): number {
    const o = this.per?.get(li.id)?.cvrPpm;
    return o === undefined ? this.cvr : clampPpm(o);
  }
  /** The rates do not depend on the placement: the ceilings are the rates themselves. */
  maxCtrPpm(li: ServingLineItem): number {
    return this.ctrPpm(li);
  }
  maxCvrPpm(li: ServingLineItem): number {
    return this.cvrPpm(li);
  }
}

/** decide()'s and buildServingSnapshot()'s predictor when none is given. */
export const DEFAULT_PREDICTOR: RatePredictor = new FixedPriorPredictor();

function clampPpm(x: number): number {
  return Math.min(1_000_000, Math.max(0, Math.round(x)));
}
