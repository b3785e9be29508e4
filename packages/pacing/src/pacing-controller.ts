/**
 * The pacing control loop: a pass-through rate per line item in [minRate, 1], throttling in the
 * manner of Agarwal et al., "Budget Pacing for Targeted Online Advertisements at LinkedIn"
 * (KDD 2014). Each tick (at most a minute apart):
 *
 *   allocation(next slot) = remaining budget x plan share of the slot / plan share of the rest of
 *                           the day   (past errors are spread over the rest of the day)
 *   potential <- EWMA of  actual spend of the last slot / (rate x plan share of that slot)
 *   rate <- rate x clamp(allocation / (rate x potential x share of the slot), 1 / (1 + beta), 1 + alpha)
 *   rate <- clamp(rate, minRate, 1)
 *
 * i.e. the paper's multiplicative up/down step, sized by how far the smoothed spend is from the
 * allocation rather than by a fixed factor (raw one-minute spend is too noisy to step on).
 *
 * The gate lets a request through with probability `rate` (the rng passed to allow()). ASAP
 * pacing keeps rate 1: only the caps stop it. Delivery status compares the spend so far with the
 * plan so far: within `tolerance` of it (or of half a percent of the budget) is on track.
 */
import { DayPlan, dayProfile, type PacingMode } from './pacing-plan.ts';
import type { TrafficCurve } from './traffic-curve.ts';

export type DeliveryStatus = 'on_track' | 'behind' | 'ahead';

export interface PacingControllerOptions {
  /** Largest step up per tick: the rate is multiplied by at most 1 + alpha. Default 0.5. */
  readonly alpha?: number;
  /** Largest step down per tick: the rate is divided by at most 1 + beta. Default 1. */
  readonly beta?: number;
  /** The rate never falls below this (a line item must keep probing its traffic). Default 1e-4. */
  readonly minRate?: number;
  /** Relative distance from the plan still "on track". Default 0.05. */
  readonly tolerance?: number;
  /** Weight of the newest slot in the smoothed spend potential (EWMA). Default 0.2. */
  readonly smoothing?: number;
}

export interface PacingInput {
  readonly lineItemId: string;
  readonly mode: PacingMode;
  readonly zone: string;
  readonly curve: TrafficCurve;
  /** Today's budget to pace (micros); null: nothing to pace (rate 1). */
  readonly dailyTargetMicros: number | null;
  /** Spend so far today (micros), as well as it is known now. */
  readonly spentTodayMicros: number;
}

export interface LineItemPacing {
  readonly lineItemId: string;
  readonly mode: PacingMode;
  readonly rate: number;
  readonly status: DeliveryStatus;
  readonly day: string;
  readonly dailyTargetMicros: number | null;
  readonly spentTodayMicros: number;
  /** What the plan says should be spent by now. */
  readonly plannedTodayMicros: number;
}

interface State {
  rate: number;
  day: string;
  plan: DayPlan;
  curve: TrafficCurve;
  lastMs: number;
  spentAtLast: number;
  /** Smoothed spend per unit of rate per unit of plan share (NaN until the first slot). */
  potential: number;
  view: LineItemPacing;
}

export class PacingController {
  private readonly states = new Map<string, State>();
  private readonly alpha: number;
  private readonly beta: number;
  private readonly minRate: number;
  private readonly tolerance: number;
  private readonly smoothing: number;

  constructor(options: PacingControllerOptions = {}) {
    this.alpha = options.alpha ?? 0.5;
    this.beta = options.beta ?? 1;
    this.minRate = options.minRate ?? 1e-4;
    this.tolerance = options.tolerance ?? 0.05;
    this.smoothing = options.smoothing ?? 0.2;
  }

  /** The pass-through rate: read on the hot path, so a Map lookup and nothing else. */
  rate(lineItemId: string): number {
    return this.states.get(lineItemId)?.rate ?? 1;
  }

  view(lineItemId: string): LineItemPacing | undefined {
    return this.states.get(lineItemId)?.view;
  }

  views(): LineItemPacing[] {
    return [...this.states.values()].map((s) => s.view);
  }

  forget(lineItemId: string): void {
    this.states.delete(lineItemId);
  }

  /** One tick for one line item. */
  update(input: PacingInput, nowMs: number): LineItemPacing {
    const profile = dayProfile(input.zone, nowMs);
    let s = this.states.get(input.lineItemId);
    if (!s || s.day !== profile.day || s.plan.mode !== input.mode) {
      // A new day (or mode): keep the rate learned so far, start a fresh plan.
      const rate = s?.rate ?? 1;
      s = {
        rate,
        day: profile.day,
        plan: new DayPlan(profile, input.curve, input.mode),
        curve: input.curve,
        lastMs: nowMs,
        spentAtLast: input.spentTodayMicros,
        potential: Number.NaN,
        view: undefined as unknown as LineItemPacing,
      };
      this.states.set(input.lineItemId, s);
    } else if (input.curve !== s.curve) {
      s.plan = new DayPlan(profile, input.curve, input.mode); // a newly learned curve
    }
    s.curve = input.curve;
    const target = input.dailyTargetMicros;
    const spent = input.spentTodayMicros;
    if (input.mode === 'asap' || target === null) {
      s.rate = 1;
    } else if (nowMs > s.lastMs) {
      // What the line item spends per unit of rate and of plan share (its "potential"), smoothed:
      // one minute of traffic is noisy, and a multiplicative step on raw noise is biased upwards.
      const actual = Math.max(0, spent - s.spentAtLast);
      const slotShare = s.plan.share(s.lastMs, nowMs);
      if (slotShare > 0 && s.rate > 0) {
        const sample = actual / (s.rate * slotShare);
        s.potential = Number.isNaN(s.potential) ? sample : (1 - this.smoothing) * s.potential + this.smoothing * sample;
      }
      // The allocation of the next slot is rest x share(next) / share(rest of day); spending it
      // takes rate = rest / (share(rest of day) x potential). Step towards it, bounded.
      const restShare = s.plan.share(nowMs, s.plan.profile.endMs);
      const rest = Math.max(0, target - spent);
      const desired =
        restShare <= 0 || rest === 0
          ? 0
          : s.potential > 0
            ? rest / (restShare * s.potential)
            : Number.POSITIVE_INFINITY;
      const factor = Math.min(1 + this.alpha, Math.max(1 / (1 + this.beta), desired / s.rate));
      s.rate = Math.min(1, Math.max(this.minRate, s.rate * factor));
    }
    s.lastMs = nowMs;
    s.spentAtLast = spent;
    const planned = target === null ? 0 : Math.round(target * s.plan.shareBy(nowMs));
    const slack = Math.max(this.tolerance * planned, target === null ? 0 : 0.005 * target);
    const status: DeliveryStatus =
      target === null || input.mode === 'asap'
        ? 'on_track'
        : spent < planned - slack
          ? 'behind'
          : spent > planned + slack
            ? 'ahead'
            : 'on_track';
    s.view = {
      lineItemId: input.lineItemId,
      mode: input.mode,
      rate: s.rate,
      status,
      day: profile.day,
      dailyTargetMicros: target,
      spentTodayMicros: spent,
      plannedTodayMicros: planned,
    };
    return s.view;
  }
}
