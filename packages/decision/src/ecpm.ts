import { mulDiv, type PricingModel } from '@marquee/core';

/**
 * eCPM in integer micros per thousand impressions:
 *   cpm: the rate; cpc: rate x CTR x 1000; cpa: rate x CTR x CVR x 1000;
 *   flat: the daily fee itself, which ranks it ahead of nearly every priced line item of its tier.
 * Rates are in ppm, so cpc = rate * ctrPpm / 1000 and cpa = rate * ctrPpm * cvrPpm / 10^9, rounded down.
 * Non-decreasing in ctrPpm and cvrPpm: the eCPM at a predictor's ceilings bounds every eCPM it
 * predicts (rankBound in serving-snapshot.ts relies on it).
 */
export function ecpmMicros(pricingModel: PricingModel, rateMicros: number, ctrPpm: number, cvrPpm: number): number {
  switch (pricingModel) {
    case 'cpm':
    case 'flat':
      return rateMicros;
    case 'cpc':
      return mulDivFloor(rateMicros, ctrPpm, 1000);
    case 'cpa': {
      const p = rateMicros * ctrPpm * cvrPpm;
      return p <= Number.MAX_SAFE_INTEGER ? Math.floor(p / 1e9) : mulDiv(mulDiv(rateMicros, ctrPpm, 1), cvrPpm, 1e9);
    }
  }
}

/** a * b / c rounded down; exact in doubles below 2^53, BigInt above. */
export function mulDivFloor(a: number, b: number, c: number): number {
  const p = a * b;
  return p <= Number.MAX_SAFE_INTEGER ? Math.floor(p / c) : mulDiv(a, b, c);
}
