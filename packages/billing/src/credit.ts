/**
 * Prepaid money and credit limits. An advertiser's account balance is debit-normal: positive when it owes
 * (spend not yet paid), negative when it paid in advance. With a credit limit L, it may owe up to L:
 * available = L − balance, and delivery stops when nothing is available. No limit (null): never stopped
 * (post-paid on invoice). A prepaid-only advertiser has a limit of 0.
 */

export interface AdvertiserExposure {
  readonly advertiserId: string;
  readonly currency: string;
  /** The ledger balance of its account (posted usage, payments, adjustments). */
  readonly balanceMicros: number;
  /** Spend in the rollups that the poster has not posted yet (the hours after its watermark). */
  readonly unpostedMicros: number;
  readonly creditLimitMicros: number | null;
}

/** What the advertiser may still spend, in micros; null when unlimited. May be negative (overdrawn). */
export function availableMicros(e: AdvertiserExposure): number | null {
  if (e.creditLimitMicros === null) return null;
  return e.creditLimitMicros - e.balanceMicros - e.unpostedMicros;
}

export function isExhausted(e: AdvertiserExposure): boolean {
  const available = availableMicros(e);
  return available !== null && available <= 0;
}

/** The advertisers whose prepaid funds and credit are used up: delivery must stop for them. */
export function stoppedAdvertisers(exposures: readonly AdvertiserExposure[]): Set<string> {
  const stopped = new Set<string>();
  for (const e of exposures) if (isExhausted(e)) stopped.add(e.advertiserId);
  return stopped;
}
