/**
 * The spend counters tracking writes to (InMemorySpendCounters, unchanged for it), also feeding the
 * lease store: once `live`, every valid billable event's spend goes to BudgetPacing.onSpend (reported
 * to the store in the refill loop). Before that, while tracking replays today's events from its log
 * on start, the totals are only collected, and `goLive` reconciles the store with them: a replay must
 * not count twice what a shared (Redis) store already has.
 */
import { InMemorySpendCounters, type ServingSnapshot } from '@marquee/decision';
import type { BudgetLeaseStore } from './budget-lease-store.ts';
import type { BudgetPacing } from './budget-pacing.ts';
import { impressionGoalScope } from './lease-scope.ts';

export class PacingSpendCounters extends InMemorySpendCounters {
  private live = false;
  private readonly replayed = new Map<
    string,
    { lineItemId: string; day: string; micros: number; impressions: number }
  >();

  /** `impressionGoals`: the worker leasing impression goals (it is told every valid impression). */
  constructor(
    private readonly pacing: BudgetPacing,
    private readonly impressionGoals?: BudgetPacing,
  ) {
    super();
  }

  override add(lineItemId: string, day: string, spendMicros: number, impressions: number): void {
    super.add(lineItemId, day, spendMicros, impressions);
    if (spendMicros <= 0 && impressions <= 0) return;
    if (this.live) {
      if (spendMicros > 0) this.pacing.onSpend(lineItemId, day, spendMicros);
      if (impressions > 0) this.impressionGoals?.onSpend(lineItemId, day, impressions);
      return;
    }
    const k = `${lineItemId}|${day}`;
    const r = this.replayed.get(k);
    if (r) {
      r.micros += spendMicros;
      r.impressions += impressions;
    } else this.replayed.set(k, { lineItemId, day, micros: spendMicros, impressions });
  }

  /** Reconciles the store with the replayed totals, then forwards every new event's spend. */
  async goLive(store: BudgetLeaseStore, snapshot: ServingSnapshot, nowMs: number): Promise<void> {
    this.live = true;
    const work: Promise<void>[] = [];
    for (const r of this.replayed.values()) {
      const sli = snapshot.lineItemById.get(r.lineItemId);
      if (!sli) continue;
      if (r.micros > 0)
        work.push(
          store.reconcile(
            { lineItemId: r.lineItemId, campaignId: sli.campaignId, day: r.day, dayMicros: r.micros },
            nowMs,
          ),
        );
      if (r.impressions > 0 && this.impressionGoals)
        work.push(
          store.reconcile(
            {
              lineItemId: impressionGoalScope.key(r.lineItemId),
              campaignId: impressionGoalScope.campaignKey(sli),
              day: r.day,
              dayMicros: r.impressions,
            },
            nowMs,
          ),
        );
    }
    this.replayed.clear();
    await Promise.all(work);
  }
}
