/**
 * The serving side's billing hook: a pacing gate in front of the budget gate that refuses the line items of
 * advertisers whose prepaid funds and credit are exhausted (docs/billing.md). It reads the stopped set the
 * billing refresher swaps in off the hot path: one `size` read per candidate when nobody is stopped, one
 * map and one set lookup otherwise.
 */
import type { BillingGate } from '@marquee/billing';
import type { PacingGate, Rng, ServingSnapshot } from '@marquee/decision';

export class BillingStopGate implements PacingGate {
  constructor(
    private readonly snapshot: ServingSnapshot,
    private readonly inner: PacingGate,
    private readonly billing: BillingGate,
  ) {}

  allow(lineItemId: string, nowMs: number, rng: Rng): boolean {
    if (this.billing.size !== 0) {
      const li = this.snapshot.lineItemById.get(lineItemId);
      if (li && this.billing.isStopped(li.advertiserId)) return false;
    }
    return this.inner.allow(lineItemId, nowMs, rng);
  }
}

/** `inner` behind the billing stop when a billing gate is given; `inner` itself otherwise. */
export function withBillingStop(snapshot: ServingSnapshot, inner: PacingGate, billing?: BillingGate): PacingGate {
  return billing ? new BillingStopGate(snapshot, inner, billing) : inner;
}
