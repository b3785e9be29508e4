/**
 * A worker's side of budgets and pacing: the lease balances the gate reads synchronously, the
 * serve-time debits, and the two background loops that talk to the lease store.
 *
 *   hot path (sync, no I/O):  admit(sli, now) -> lease balance covers a serve?   rate(id) -> pass-through
 *                             onServed(id, expectedMicros)                      (reserve-on-serve debit)
 *                             onSpend(id, day, micros)                          (actual spend from tracking, buffered)
 *   refill loop (~1 s):       renew low, ageing or stale-day leases; return idle ones; flush actual spend
 *   control loop (<= 60 s):   read each paced line item's spend today, update its pass-through rate
 *
 * Reserve-on-serve: a serve is charged against the worker's lease WHEN IT IS DECIDED, at its
 * expected cost (a CPM impression's price; clearing eCPM / 1000 for CPC and CPA), not when its
 * billable event arrives seconds or minutes later. Events in flight are therefore always inside
 * some lease or hold, which is what makes the overspend bound hold (docs/concepts/pacing.md).
 */
import type { RatePredictor, ServingLineItem, ServingPlacement, ServingSnapshot } from '@marquee/decision';
import type { BudgetLeaseStore, Lease, LeaseBudget } from './budget-lease-store.ts';
import { DEFAULT_LEASE_TTL_MS } from './budget-lease-store.ts';
import { type LeaseScope, spendScope } from './lease-scope.ts';
import { type LineItemPacing, PacingController, type PacingControllerOptions } from './pacing-controller.ts';
import { TrafficCurve } from './traffic-curve.ts';

export interface BudgetPacingOptions {
  readonly store: BudgetLeaseStore;
  readonly snapshot: () => ServingSnapshot;
  /** What is leased: spend in micros (default) or a goal's units (lease-scope.ts). */
  readonly scope?: LeaseScope;
  /** The traffic curve a line item's even pacing follows (default flat). */
  readonly curve?: (sli: ServingLineItem) => TrafficCurve;
  readonly controller?: PacingControllerOptions;
  /** The store's lease TTL: leases are renewed a third of it before they expire. Default 30 s. */
  readonly leaseTtlMs?: number;
  /** A lease is sized to last this long at the observed spend rate. Default 10 s. */
  readonly leaseHorizonMs?: number;
  /** No lease is larger than this share of the smallest cap it is under. Default 0.01. */
  readonly maxLeaseShare?: number;
  /** Nor larger than this (micros). Default: no absolute limit. */
  readonly maxLeaseMicros?: number;
  /** A line item not asked for in this long gives its lease back. Default 60 s. */
  readonly idleMs?: number;
  readonly onError?: (err: unknown, what: string) => void;
  /**
   * A line item is asked for the first time in this process (its entry is created). The pacing runtime
   * reconciles it with the event log at once: a line item paused when this process started (so not in the
   * start-up reconcile) may have spent before, and an embedded store knows nothing of it.
   */
  readonly onFirstDemand?: (sli: ServingLineItem) => void;
}

interface Entry {
  sli: ServingLineItem;
  /** The line item's key in the lease store (the scope's). */
  key: string;
  budget: LeaseBudget | null;
  /** The most a single serve can cost (CPM: the impression at the full rate); 0: unknown (CPC/CPA). */
  serveCost: number;
  /** Smallest and largest lease for this line item. */
  minLease: number;
  maxLease: number;
  lease: Lease | null;
  /** Debited against `lease` so far. */
  used: number;
  lastWantMs: number;
  /** When admit last tried to take a first lease. */
  firstTriedMs: number;
  busy: boolean;
  /** Debits in total (for the spend-rate estimate) and at the last refill. */
  debited: number;
  debitedAtRefill: number;
  lastRefillMs: number;
  /** Observed spend rate, micros per ms (EWMA). */
  rate: number;
}

const NO_LEASE_BALANCE = 0;

export class BudgetPacing {
  readonly controller: PacingController;
  private readonly entries = new Map<string, Entry>();
  private readonly pendingSpend = new Map<string, { lineItemId: string; day: string; micros: number }>();
  private readonly scope: LeaseScope;
  private readonly o: Required<Omit<BudgetPacingOptions, 'maxLeaseMicros' | 'onError' | 'scope'>> &
    Pick<BudgetPacingOptions, 'maxLeaseMicros' | 'onError'>;
  private timers: NodeJS.Timeout[] = [];
  private now: (() => number) | undefined;
  private woken = false;

  constructor(options: BudgetPacingOptions) {
    this.o = {
      onFirstDemand: () => {},
      curve: () => TrafficCurve.flat(),
      controller: {},
      leaseTtlMs: DEFAULT_LEASE_TTL_MS,
      leaseHorizonMs: 10_000,
      maxLeaseShare: 0.01,
      idleMs: 60_000,
      ...options,
    };
    this.scope = options.scope ?? spendScope;
    this.controller = new PacingController(this.o.controller);
  }

  // ---------- hot path ----------

  /**
   * May the line item serve one more ad now as far as its budgets go? Also notes the demand, so the
   * refill loop leases for line items that are asked for, and only those.
   */
  admit(sli: ServingLineItem, nowMs: number): boolean {
    const e = this.entry(sli);
    e.lastWantMs = nowMs;
    if (e.budget === null) return true;
    let lease = e.lease;
    const day = sli.clock.localDay(nowMs);
    if ((lease === null || lease.day !== day) && !e.busy) lease = this.firstLease(e, day, nowMs);
    // A lease about to expire is not spent from: the store may hand it to someone else.
    if (lease === null || nowMs >= lease.expiresAtMs - 1000 || lease.day !== day) return false;
    const balance = lease.grantedMicros - e.used;
    return e.serveCost > 0 ? balance >= e.serveCost : balance > 0;
  }

  /** The pass-through rate of even and frontloaded pacing (1: no throttling). */
  rate(lineItemId: string): number {
    return this.controller.rate(lineItemId);
  }

  /** A serve was decided: debit its expected cost from the lease (reserve-on-serve). */
  onServed(lineItemId: string, expectedMicros: number): void {
    const e = this.entries.get(lineItemId);
    if (!e || expectedMicros <= 0) return;
    e.debited += expectedMicros;
    if (e.budget !== null) e.used += expectedMicros;
  }

  /** Actual billable spend of a valid event (from tracking): reported to the store by the refill loop. */
  onSpend(lineItemId: string, day: string, micros: number): void {
    if (micros <= 0) return;
    const k = `${lineItemId}|${day}`;
    const p = this.pendingSpend.get(k);
    if (p) p.micros += micros;
    else this.pendingSpend.set(k, { lineItemId, day, micros });
  }

  /** What this worker holds of a line item's budget right now (tests, metrics). */
  balance(lineItemId: string): number {
    const e = this.entries.get(lineItemId);
    return e?.lease ? Math.max(NO_LEASE_BALANCE, e.lease.grantedMicros - e.used) : NO_LEASE_BALANCE;
  }

  /** The leases this worker holds (granted, not settled): their sum bounds what it can overspend. */
  outstandingLeaseMicros(): number {
    let s = 0;
    for (const e of this.entries.values()) if (e.lease) s += e.lease.grantedMicros;
    return s;
  }

  views(): LineItemPacing[] {
    return this.controller.views();
  }

  // ---------- background ----------

  /** Renews, returns and takes leases; flushes actual spend. */
  async refill(nowMs: number): Promise<void> {
    const snapshot = this.o.snapshot();
    await this.flushSpend(snapshot, nowMs);
    const work: Promise<void>[] = [];
    for (const e of this.entries.values()) {
      const sli = snapshot.lineItemById.get(e.sli.lineItem.id);
      if (sli && sli !== e.sli) this.refresh(e, sli);
      if (e.busy) continue;
      const dt = nowMs - e.lastRefillMs;
      if (dt > 0) {
        const r = (e.debited - e.debitedAtRefill) / dt;
        e.rate = e.lastRefillMs === 0 ? r : 0.7 * e.rate + 0.3 * r;
        e.debitedAtRefill = e.debited;
        e.lastRefillMs = nowMs;
      }
      if (e.budget === null) continue;
      const idle = nowMs - e.lastWantMs > this.o.idleMs || !sli;
      const lease = e.lease;
      if (idle) {
        if (lease) work.push(this.swap(e, null, nowMs));
        continue;
      }
      const today = e.sli.clock.localDay(nowMs);
      const size = this.leaseSize(e);
      const low = lease === null || lease.grantedMicros - e.used < size / 2;
      const ageing = lease !== null && nowMs >= lease.expiresAtMs - this.o.leaseTtlMs / 3;
      if (low || ageing || (lease !== null && lease.day !== today))
        work.push(this.swap(e, { day: today, want: size }, nowMs));
    }
    await Promise.all(work);
  }

  /** One control tick: each paced line item's spend today against its plan. */
  async control(nowMs: number): Promise<void> {
    if (!this.scope.paced) return; // goals are caps only: the spend scope paces
    const work: Promise<unknown>[] = [];
    for (const e of this.entries.values()) {
      const li = e.sli.lineItem;
      if (li.pacing === 'asap' || e.budget === null) {
        this.controller.update(
          {
            lineItemId: li.id,
            mode: li.pacing,
            zone: e.sli.clock.zone,
            curve: this.o.curve(e.sli),
            dailyTargetMicros: null,
            spentTodayMicros: 0,
          },
          nowMs,
        );
        continue;
      }
      const day = e.sli.clock.localDay(nowMs);
      work.push(
        this.o.store.status(e.key, e.budget.campaignId, day, nowMs).then((s) => {
          // Actual spend reported, plus slices used and held while their events arrive, plus what
          // this worker used of its current lease and has not settled yet.
          const local = e.lease?.day === day ? e.used : 0;
          const spentToday = s.lineItemDay.spentMicros + s.lineItemDay.heldMicros + local;
          const spentBefore =
            s.lineItemLifetime.spentMicros + s.lineItemLifetime.heldMicros - s.lineItemDay.spentMicros;
          this.controller.update(
            {
              lineItemId: li.id,
              mode: li.pacing,
              zone: e.sli.clock.zone,
              curve: this.o.curve(e.sli),
              dailyTargetMicros: dailyTarget(e.sli, Math.max(0, spentBefore), nowMs),
              spentTodayMicros: spentToday,
            },
            nowMs,
          );
        }),
      );
    }
    await Promise.all(work);
  }

  /** Settles every lease and flushes spend (graceful shutdown). */
  async close(nowMs: number): Promise<void> {
    this.stop();
    await this.flushSpend(this.o.snapshot(), nowMs);
    await Promise.all([...this.entries.values()].filter((e) => e.lease).map((e) => this.swap(e, null, nowMs)));
  }

  /** Runs both loops on timers (unref'd: they never keep the process alive). */
  start(now: () => number, refillMs = 1000, controlMs = 60_000): void {
    this.now = now;
    const loop = (fn: (n: number) => Promise<void>, what: string) => {
      let running = false;
      const t = setInterval(() => {
        if (running) return;
        running = true;
        fn(now())
          .catch((err) => this.o.onError?.(err, what))
          .finally(() => {
            running = false;
          });
      }, refillMs);
      t.unref();
      return t;
    };
    this.timers.push(loop((n) => this.refill(n), 'budget lease refill failed'));
    const c = setInterval(() => {
      this.control(now()).catch((err) => this.o.onError?.(err, 'pacing control failed'));
    }, controlMs);
    c.unref();
    this.timers.push(c);
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  // ---------- internals ----------

  /**
   * No lease for today yet. An in-process store grants one on the spot (a Map operation, no I/O);
   * otherwise the refill loop is woken now rather than at its next tick. Tried at most every 250 ms.
   */
  private firstLease(e: Entry, day: string, nowMs: number): Lease | null {
    if (nowMs - e.firstTriedMs < 250 || e.budget === null) return e.lease;
    e.firstTriedMs = nowMs;
    const reserveSync = this.o.store.reserveSync;
    if (reserveSync === undefined) {
      this.wake();
      return e.lease;
    }
    const fresh = reserveSync(e.key, day, this.leaseSize(e), e.budget, nowMs);
    if (fresh.grantedMicros === 0) return e.lease;
    const old = e.lease;
    const used = e.used;
    e.lease = fresh;
    e.used = 0;
    if (old) this.o.store.settle(old, used, nowMs).catch((err) => this.o.onError?.(err, 'budget lease not settled'));
    return fresh;
  }

  /** Runs a refill soon (once), outside the request. */
  private wake(): void {
    const now = this.now;
    if (now === undefined || this.woken) return;
    this.woken = true;
    setImmediate(() => {
      this.woken = false;
      this.refill(now()).catch((err) => this.o.onError?.(err, 'budget lease refill failed'));
    });
  }

  private entry(sli: ServingLineItem): Entry {
    let e = this.entries.get(sli.id);
    if (e === undefined) {
      e = {
        sli,
        key: this.scope.key(sli.id),
        budget: null,
        serveCost: 0,
        minLease: 0,
        maxLease: 0,
        lease: null,
        used: 0,
        lastWantMs: 0,
        firstTriedMs: Number.NEGATIVE_INFINITY,
        busy: false,
        debited: 0,
        debitedAtRefill: 0,
        lastRefillMs: 0,
        rate: 0,
      };
      this.refresh(e, sli);
      this.entries.set(sli.id, e);
      if (e.budget !== null) this.o.onFirstDemand(sli);
    } else if (e.sli !== sli) {
      this.refresh(e, sli);
    }
    return e;
  }

  /** Budget and lease sizes from the line item (and campaign) of the current snapshot. */
  private refresh(e: Entry, sli: ServingLineItem): void {
    e.sli = sli;
    const campaign = this.o.snapshot().source.maps.campaign.get(sli.campaignId);
    const budget = this.scope.budget(sli, campaign);
    const limits = budget
      ? [
          budget.lineItemDailyMicros,
          budget.lineItemLifetimeMicros,
          budget.campaignDailyMicros,
          budget.campaignLifetimeMicros,
        ].filter((x): x is number => x !== null)
      : [];
    e.budget = limits.length === 0 ? null : budget;
    e.serveCost = this.scope.serveCost(sli);
    const unit = this.scope.unit(sli);
    const smallest = limits.length ? Math.min(...limits) : 0;
    e.minLease = 20 * unit;
    e.maxLease = Math.max(
      unit,
      Math.min(this.o.maxLeaseMicros ?? Infinity, Math.ceil(this.o.maxLeaseShare * smallest)),
    );
  }

  private leaseSize(e: Entry): number {
    const want = Math.ceil(e.rate * this.o.leaseHorizonMs);
    return Math.min(e.maxLease, Math.max(e.minLease, want));
  }

  /**
   * Replaces the entry's lease: reserve the next one first (the old one keeps serving meanwhile),
   * then settle the old one with everything debited so far.
   */
  private async swap(e: Entry, next: { day: string; want: number } | null, nowMs: number): Promise<void> {
    e.busy = true;
    try {
      const fresh = next && e.budget ? await this.o.store.reserve(e.key, next.day, next.want, e.budget, nowMs) : null;
      const old = e.lease;
      const used = e.used;
      e.lease = fresh && fresh.grantedMicros > 0 ? fresh : null;
      e.used = 0;
      if (old) await this.o.store.settle(old, used, nowMs);
    } finally {
      e.busy = false;
    }
  }

  private async flushSpend(snapshot: ServingSnapshot, nowMs: number): Promise<void> {
    if (this.pendingSpend.size === 0) return;
    const batch = [...this.pendingSpend.values()];
    this.pendingSpend.clear();
    await Promise.all(
      batch.map((p) => {
        const sli = snapshot.lineItemById.get(p.lineItemId) ?? this.entries.get(p.lineItemId)?.sli;
        if (!sli) return undefined; // a line item no longer served: reconciled from the log
        return this.o.store.recordSpend(
          this.scope.key(p.lineItemId),
          this.scope.campaignKey(sli),
          p.day,
          p.micros,
          nowMs,
        );
      }),
    );
  }
}

/**
 * Today's budget to pace: the daily budget, or for a lifetime budget with an end date, what is left
 * spread evenly over the days left (today included); the smaller of the two when both apply.
 * null: nothing to pace against (no daily budget, no end date).
 */
export function dailyTarget(sli: ServingLineItem, spentBeforeTodayMicros: number, nowMs: number): number | null {
  const li = sli.lineItem;
  let target = li.dailyBudgetMicros;
  if (li.lifetimeBudgetMicros !== null && Number.isFinite(sli.endMs)) {
    const daysLeft = Math.max(1, Math.ceil((sli.endMs - nowMs) / 86_400_000));
    const fromLifetime = Math.floor(Math.max(0, li.lifetimeBudgetMicros - spentBeforeTodayMicros) / daysLeft);
    target = target === null ? fromLifetime : Math.min(target, fromLifetime);
  }
  return target;
}

/** The expected cost of a decided ad, debited at serve time (decide's Ad, or its fields). */
export function expectedServeCostMicros(ad: {
  readonly pricingModel: string;
  readonly chargeRateMicros: number;
  readonly clearingEcpmMicros: number;
}): number {
  if (ad.pricingModel === 'cpm') return Math.floor(ad.chargeRateMicros / 1000); // the impression's price
  if (ad.pricingModel === 'flat') return 0; // billed per day on schedule, not per serve
  return Math.floor(ad.clearingEcpmMicros / 1000); // CPC, CPA: price x predicted rate
}

/**
 * The expected cost of a serve from the line item alone, when decide's Ad is not at hand (the HTTP
 * layer sees the served ad, not its clearing price): a CPM impression at the full rate (an upper
 * bound under second price), CPC and CPA at rate x predicted rates, as decide ranked them.
 */
export function lineItemServeCostMicros(
  sli: ServingLineItem,
  placement: ServingPlacement | undefined,
  predictor: RatePredictor,
): number {
  const rate = sli.rateMicros;
  switch (sli.pricingModel) {
    case 'cpm':
      return Math.floor(rate / 1000);
    case 'flat':
      return 0;
    case 'cpc':
      return placement ? Math.floor((rate * predictor.ctrPpm(sli, placement)) / 1e6) : 0;
    case 'cpa':
      return placement
        ? Math.floor((((rate * predictor.ctrPpm(sli, placement)) / 1e6) * predictor.cvrPpm(sli, placement)) / 1e6)
        : 0;
  }
}
