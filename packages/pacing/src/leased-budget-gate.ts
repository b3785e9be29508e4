/**
 * The pacing gate decide() consults: synchronous, no I/O. A line item with a budget serves only
 * while this worker's lease covers one more serve; an even or frontloaded one passes with the
 * probability of its pass-through rate, drawn from the rng decide() passes in. Leases are refilled
 * by BudgetPacing's background loop, never on the request path.
 */
import type { PacingGate, Rng, ServingSnapshot } from '@marquee/decision';
import type { BudgetPacing } from './budget-pacing.ts';

export class LeasedBudgetGate implements PacingGate {
  /**
   * `inner`: a gate checked first (the server keeps BudgetPacingGate for the local spend counters).
   * `goals`: workers leasing a goal's units (impressionGoalScope): a line item serves only while
   * each of them covers one more serve too.
   */
  constructor(
    private readonly snapshot: ServingSnapshot,
    private readonly pacing: BudgetPacing,
    private readonly inner?: PacingGate,
    private readonly goals: readonly BudgetPacing[] = [],
  ) {}

  allow(lineItemId: string, nowMs: number, rng: Rng): boolean {
    if (this.inner !== undefined && !this.inner.allow(lineItemId, nowMs, rng)) return false;
    const sli = this.snapshot.lineItemById.get(lineItemId);
    if (sli === undefined || !this.pacing.admit(sli, nowMs)) return false;
    for (const g of this.goals) if (!g.admit(sli, nowMs)) return false;
    const rate = this.pacing.rate(lineItemId);
    return rate >= 1 || rng() < rate;
  }
}
