/**
 * The set of stopped advertisers the serving side reads on every decision. It is a plain Set swapped
 * whole by a refresher off the hot path (a database query every few seconds), so a decision pays one
 * `has` per candidate line item and never waits for the ledger.
 */
export interface BillingGate {
  /** True when the advertiser's prepaid funds and credit are exhausted. */
  isStopped(advertiserId: string): boolean;
  /** How many advertisers are stopped now (0: the serving hook skips the lookup). */
  readonly size: number;
}

export class SwappableBillingGate implements BillingGate {
  private stopped: ReadonlySet<string> = new Set();

  isStopped(advertiserId: string): boolean {
    return this.stopped.has(advertiserId);
  }

  get size(): number {
    return this.stopped.size;
  }

  /** The current set (a snapshot: never mutated after it is swapped in). */
  current(): ReadonlySet<string> {
    return this.stopped;
  }

  replace(stopped: ReadonlySet<string>): void {
    this.stopped = stopped;
  }
}

/** A gate that stops no one (billing off). */
export const OPEN_BILLING_GATE: BillingGate = { isStopped: () => false, size: 0 };
