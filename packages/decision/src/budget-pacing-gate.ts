/**
 * The pacing gate's first form: stop a line item once its lifetime or daily budget or impression
 * goal is spent. "Daily" is the calendar day in the line item's own time zone. Smooth (even,
 * frontloaded) pacing arrives in its own issue behind the same PacingGate port.
 */
import type { PacingGate } from './ports.ts';
import type { Rng } from './rng.ts';
import type { ServingSnapshot } from './serving-snapshot.ts';

export interface SpendTotals {
  readonly spendMicros: number;
  readonly impressions: number;
}

/** Spend counters as the gate reads them (kept by billing; prefetched or held in memory). */
export interface SpendView {
  lifetime(lineItemId: string): SpendTotals | undefined;
  /** `day` is "YYYY-MM-DD" in the line item's time zone. */
  day(lineItemId: string, day: string): SpendTotals | undefined;
}

export class BudgetPacingGate implements PacingGate {
  constructor(
    private readonly snapshot: ServingSnapshot,
    private readonly spend: SpendView,
  ) {}

  allow(lineItemId: string, nowMs: number, _rng: Rng): boolean {
    const sli = this.snapshot.lineItemById.get(lineItemId);
    if (!sli) return false;
    const li = sli.lineItem;
    const life = this.spend.lifetime(lineItemId);
    if (life) {
      if (li.lifetimeBudgetMicros != null && life.spendMicros >= li.lifetimeBudgetMicros) return false;
      if (li.lifetimeImpressionGoal != null && life.impressions >= li.lifetimeImpressionGoal) return false;
    }
    if (li.dailyBudgetMicros == null && li.dailyImpressionGoal == null) return true;
    const day = this.spend.day(lineItemId, sli.clock.localDay(nowMs));
    if (day) {
      if (li.dailyBudgetMicros != null && day.spendMicros >= li.dailyBudgetMicros) return false;
      if (li.dailyImpressionGoal != null && day.impressions >= li.dailyImpressionGoal) return false;
    }
    return true;
  }
}

/** Spend counters in a Map: the embedded topology's view, and the one tests drive. */
export class InMemorySpendCounters implements SpendView {
  private readonly life = new Map<string, { spendMicros: number; impressions: number }>();
  private readonly days = new Map<string, { spendMicros: number; impressions: number }>();

  add(lineItemId: string, day: string, spendMicros: number, impressions: number): void {
    for (const [m, k] of [
      [this.life, lineItemId],
      [this.days, `${lineItemId}|${day}`],
    ] as const) {
      const t = m.get(k) ?? { spendMicros: 0, impressions: 0 };
      t.spendMicros += spendMicros;
      t.impressions += impressions;
      m.set(k, t);
    }
  }
  lifetime(lineItemId: string): SpendTotals | undefined {
    return this.life.get(lineItemId);
  }
  day(lineItemId: string, day: string): SpendTotals | undefined {
    return this.days.get(`${lineItemId}|${day}`);
  }
}
