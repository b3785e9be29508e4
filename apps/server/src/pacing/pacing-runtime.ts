/**
 * The serving side's budgets, goals and pacing in one place, so serving.ts only wires it in:
 *
 *   pacing            spend leases (micros) and the pass-through rates of the control loop
 *   impressionGoals   impression goals leased in impressions      (packages/pacing/src/lease-scope.ts)
 *   clickGoals        click goals leased in micro-clicks
 *   spend             the counters tracking adds valid events to (fed on to the leases)
 *   feeds             traffic curves and the reconcile with the rollups (background)
 *
 * `gate(snapshot, inner)` is the PacingGate decide() consults; `onServed` debits a served ad from
 * every scope (reserve-on-serve). See docs/concepts/pacing.md.
 */
import {
  BudgetPacingGate,
  type PacingGate,
  type RatePredictor,
  type ServingLineItem,
  type ServingPlacement,
  type ServingSnapshot,
} from '@marquee/decision';
import {
  type BudgetLeaseStore,
  BudgetPacing,
  clickGoalScope,
  impressionGoalScope,
  LeasedBudgetGate,
  type LeaseScope,
  lineItemServeCostMicros,
  PacingSpendCounters,
} from '@marquee/pacing';
import type { RollupStore } from '@marquee/store';
import { PacingFeeds } from './pacing-feeds.ts';
import { type PacingViews, publishPacingViews } from './pacing-views.ts';
import { TrafficCurveFeed } from './traffic-curve-feed.ts';

export interface PacingRuntimeOptions {
  readonly leases: BudgetLeaseStore;
  readonly rollups: Pick<RollupStore, 'query'>;
  readonly snapshot: () => ServingSnapshot;
  readonly now: () => number;
  readonly predictor: RatePredictor;
  /** The app's deps: the delivery report finds the control views under it (pacing-views.ts). */
  readonly deps: object;
  readonly onError: (err: unknown, what: string) => void;
}

export class PacingRuntime {
  readonly pacing: BudgetPacing;
  readonly impressionGoals: BudgetPacing;
  readonly clickGoals: BudgetPacing;
  readonly spend: PacingSpendCounters;
  readonly feeds: PacingFeeds;

  constructor(private readonly o: PacingRuntimeOptions) {
    const curves = new TrafficCurveFeed({ rollups: o.rollups });
    const worker = (scope?: LeaseScope) =>
      new BudgetPacing({
        store: o.leases,
        snapshot: o.snapshot,
        ...(scope ? { scope } : { curve: (sli: ServingLineItem) => curves.curve(sli) }),
        onError: o.onError,
        onFirstDemand: (sli: ServingLineItem) => this.feeds.catchUp(sli.id),
      });
    this.pacing = worker();
    this.impressionGoals = worker(impressionGoalScope);
    this.clickGoals = worker(clickGoalScope);
    this.spend = new PacingSpendCounters(this.pacing, this.impressionGoals);
    this.feeds = new PacingFeeds({
      rollups: o.rollups,
      leases: o.leases,
      curves,
      snapshot: o.snapshot,
      now: o.now,
      onError: o.onError,
    });
    publishPacingViews(o.deps, (id) => this.pacing.controller.view(id) ?? this.otherViews(id));
  }

  /** Views paced elsewhere (a cluster primary shows its workers' controllers, which do the serving). */
  private otherViews: PacingViews = () => undefined;
  showViewsFrom(views: PacingViews): void {
    this.otherViews = views;
  }

  /** The gate of a snapshot: `inner` first, then every scope's lease, then the pass-through rate. */
  gate(snapshot: ServingSnapshot, inner: PacingGate = new BudgetPacingGate(snapshot, this.spend)): PacingGate {
    return new LeasedBudgetGate(snapshot, this.pacing, inner, [this.impressionGoals, this.clickGoals]);
  }

  /** A served ad: its expected cost, one impression and its predicted clicks come off the leases now. */
  onServed(sli: ServingLineItem, placement: ServingPlacement | undefined): void {
    this.pacing.onServed(sli.id, lineItemServeCostMicros(sli, placement, this.o.predictor));
    this.impressionGoals.onServed(sli.id, 1); // at most one impression per served ad
    if (placement) this.clickGoals.onServed(sli.id, this.o.predictor.ctrPpm(sli, placement)); // micro-clicks
  }

  /** Tracking has replayed today's events: reconcile with them and the rollups, then start the loops. */
  async start(): Promise<void> {
    const now = this.o.now;
    await this.spend.goLive(this.o.leases, this.o.snapshot(), now());
    await this.feeds.runOnce(); // the rollups' spend and the learned curves before the first lease
    for (const w of [this.pacing, this.impressionGoals, this.clickGoals]) w.start(now);
    this.feeds.start();
  }

  /** Settles every lease and flushes spend (graceful shutdown). */
  async close(): Promise<void> {
    this.feeds.stop();
    for (const w of [this.pacing, this.impressionGoals, this.clickGoals])
      await w.close(this.o.now()).catch((err) => this.o.onError(err, 'leases not settled'));
  }
}
