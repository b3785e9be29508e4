/**
 * The background jobs that feed pacing from the rollups, off the request path: traffic curves
 * (every 15 minutes by default) and the reconcile of the budget leases with the event log (every
 * minute). A failed run is logged and retried at the next tick; the hot path keeps its last curves.
 */
import type { ServingSnapshot } from '@marquee/decision';
import type { BudgetLeaseStore } from '@marquee/pacing';
import type { RollupStore } from '@marquee/store';
import { reconcileFromRollups } from './spend-reconciler.ts';
import type { TrafficCurveFeed } from './traffic-curve-feed.ts';

export interface PacingFeedsOptions {
  readonly rollups: Pick<RollupStore, 'query'>;
  readonly leases: BudgetLeaseStore;
  readonly curves: TrafficCurveFeed;
  readonly snapshot: () => ServingSnapshot;
  readonly now: () => number;
  readonly curvesEveryMs?: number;
  readonly reconcileEveryMs?: number;
  readonly onError: (err: unknown, what: string) => void;
}

export class PacingFeeds {
  private timers: NodeJS.Timeout[] = [];
  private running = new Set<string>();
  /** Line items some reconcile of this process has covered. */
  private readonly reconciled = new Set<string>();
  private readonly catchUpIds = new Set<string>();
  private catchUpScheduled = false;

  constructor(private readonly o: PacingFeedsOptions) {}

  /** One run of both, awaited (start-up, tests). */
  async runOnce(): Promise<void> {
    await Promise.all([this.curves(), this.reconcile()]);
  }

  curves(): Promise<void> {
    return this.once('curves', () => this.o.curves.refresh(this.o.now()), 'traffic curves not refreshed');
  }

  reconcile(): Promise<void> {
    return this.once(
      'reconcile',
      async () => {
        const report = await reconcileFromRollups(this.o.rollups, this.o.leases, this.o.snapshot(), this.o.now());
        for (const id of report.ids) this.reconciled.add(id);
      },
      'budget leases not reconciled with the rollups',
    );
  }

  /**
   * A line item first asked for after start (created, or resumed, since): reconciled now rather than at the
   * next minute, unless a reconcile of this process has covered it. Without this, a line item paused when an
   * embedded server restarted would lease against a store that knows nothing of what it spent before.
   * Calls within one turn of the event loop share one query.
   */
  catchUp(lineItemId: string): void {
    if (this.reconciled.has(lineItemId)) return;
    this.catchUpIds.add(lineItemId);
    if (this.catchUpScheduled) return;
    this.catchUpScheduled = true;
    setImmediate(() => void this.runCatchUp());
  }

  /** Resolves when the catch-up reconciles asked for so far are done (tests). */
  async runCatchUp(): Promise<void> {
    this.catchUpScheduled = false;
    const ids = [...this.catchUpIds];
    this.catchUpIds.clear();
    if (ids.length === 0) return;
    try {
      const report = await reconcileFromRollups(this.o.rollups, this.o.leases, this.o.snapshot(), this.o.now(), ids);
      for (const id of report.ids) this.reconciled.add(id);
    } catch (err) {
      this.o.onError(err, 'budget leases not reconciled with the rollups');
    }
  }

  start(): void {
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => void fn(), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.curvesEveryMs ?? 15 * 60_000, () => this.curves());
    every(this.o.reconcileEveryMs ?? 60_000, () => this.reconcile());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Runs `fn` unless a run of the same job is still going; errors go to onError. */
  private async once(job: string, fn: () => Promise<void>, what: string): Promise<void> {
    if (this.running.has(job)) return;
    this.running.add(job);
    try {
      await fn();
    } catch (err) {
      this.o.onError(err, what);
    } finally {
      this.running.delete(job);
    }
  }
}
