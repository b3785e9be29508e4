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
        await reconcileFromRollups(this.o.rollups, this.o.leases, this.o.snapshot(), this.o.now());
      },
      'budget leases not reconciled with the rollups',
    );
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
