/**
 * Billing in a running server: the usage poster (rollups -> ledger, every minute, hours that ended more
 * than the settle delay ago) and the refresher of the stopped-advertiser set the serving side reads (every
 * few seconds). Both run off the hot path; a failing database only makes the set stale (serving goes on
 * with the last one) and the poster retry on its next tick.
 */
import { SwappableBillingGate, stoppedAdvertisers } from '@marquee/billing';
import type { Store, UsagePostingRun } from '@marquee/store';

export interface BillingRuntimeOptions {
  readonly store: Store;
  readonly now: () => number;
  /** Run the usage poster in this process (one per deployment, like the rollups; two are safe, just idle). */
  readonly poster: boolean;
  /** A rollup hour is posted once it ended this long ago; later events post a delta. Default 15 minutes. */
  readonly settleDelayMs?: number;
  /** Rollup hours compared with what was posted, back from now. Default 35 days (late corrections in a month). */
  readonly lookbackMs?: number;
  readonly postEveryMs?: number;
  readonly refreshEveryMs?: number;
  readonly onError: (error: unknown, what: string) => void;
}

export interface BillingRuntime {
  /** The stopped advertisers, for the serving side's pacing gate. */
  readonly gate: SwappableBillingGate;
  /** Posts the rollup hours that started before `throughMs` (default: now − settle delay). */
  postUsage(throughMs?: number): Promise<UsagePostingRun>;
  /** Recomputes the stopped set from the ledger, unposted spend and credit limits, and swaps it in. */
  refresh(): Promise<ReadonlySet<string>>;
  start(): void;
  stop(): Promise<void>;
}

export const BILLING_DEFAULTS = {
  settleDelayMs: 15 * 60_000,
  lookbackMs: 35 * 24 * 3_600_000,
  postEveryMs: 60_000,
  refreshEveryMs: 5_000,
} as const;

export function createBillingRuntime(options: BillingRuntimeOptions): BillingRuntime {
  const o = { ...BILLING_DEFAULTS, ...options };
  const gate = new SwappableBillingGate();
  const timers: NodeJS.Timeout[] = [];
  let running: Promise<unknown> = Promise.resolve();

  const postUsage = (throughMs = o.now() - o.settleDelayMs) =>
    o.store.billing.postUsage({ throughMs, lookbackMs: o.lookbackMs });

  async function refresh(): Promise<ReadonlySet<string>> {
    const stopped = stoppedAdvertisers(await o.store.billing.exposures());
    gate.replace(stopped);
    return stopped;
  }

  /** One task at a time (a slow database never stacks ticks); errors are reported, never thrown. */
  const tick = (what: string, task: () => Promise<unknown>) => () => {
    running = running.then(task).catch((error) => o.onError(error, what));
  };

  return {
    gate,
    postUsage,
    refresh,
    start() {
      tick('billing gate refresh failed', refresh)();
      timers.push(setInterval(tick('billing gate refresh failed', refresh), o.refreshEveryMs));
      if (o.poster)
        timers.push(
          setInterval(
            tick('usage posting failed', () => postUsage()),
            o.postEveryMs,
          ),
        );
      for (const t of timers) t.unref();
    },
    async stop() {
      for (const t of timers.splice(0)) clearInterval(t);
      await running;
    },
  };
}
