/**
 * What decide() asks of the world, as synchronous interfaces. Implementations live elsewhere
 * (packages/counters for caps; billing for spend) and do their I/O BEFORE decide is called.
 *
 * Data flow of one decision request in the HTTP layer:
 *   1. snapshot = refresher.current                      (no I/O)
 *   2. ids = cappedCandidates(request, snapshot, nowMs)   (pure: the index's candidates that have caps)
 *   3. view = await capStore.load(userKey, ids, nowMs)    (one Redis round trip, or a Map read in process)
 *   4. decision = decide(request, snapshot, nowMs, rng, { frequencyCaps: view, pacing, predictor })
 *   5. after the response: capStore.record(...) for each ad served (or on the impression event)
 */
import type { FrequencyCap } from '@marquee/core';
import type { Rng } from './rng.ts';
import type { ServingLineItem, ServingPlacement } from './serving-snapshot.ts';

/** The user's frequency-cap counts, loaded before decide. */
export interface FrequencyCapView {
  /** Impressions of the line item in the cap's current window. */
  count(lineItemId: string, cap: FrequencyCap, nowMs: number): number;
}

/** Says whether a line item may serve now: budgets, goals and (later) smooth pacing. */
export interface PacingGate {
  allow(lineItemId: string, nowMs: number, rng: Rng): boolean;
}

/**
 * Predicted click-through and conversion rates, in parts per million (integers, so eCPM stays in
 * integer micros): 1,500 ppm is a 0.15% CTR.
 */
export interface RatePredictor {
  ctrPpm(lineItem: ServingLineItem, placement: ServingPlacement): number;
  /** Conversions per click. */
  cvrPpm(lineItem: ServingLineItem, placement: ServingPlacement): number;
  /**
   * Optional ceilings: no ctrPpm / cvrPpm this predictor returns for the line item, on any placement,
   * exceeds them, for as long as it is the predictor of a snapshot (buildServingSnapshot's `predictor`
   * option). The snapshot turns them into the CPC / CPA line item's eCPM bound, by which the index
   * orders candidates and decide() stops early; without them that bound is the best eCPM of the tier,
   * and every matching CPC / CPA line item is looked at before any CPM one of its tier.
   */
  maxCtrPpm?(lineItem: ServingLineItem): number;
  maxCvrPpm?(lineItem: ServingLineItem): number;
}

export const NO_CAPS: FrequencyCapView = { count: () => 0 };
export const ALWAYS_ALLOW: PacingGate = { allow: () => true };
