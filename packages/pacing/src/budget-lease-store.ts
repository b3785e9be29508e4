/**
 * Budgets shared by many workers through leases.
 *
 * A worker RESERVES a slice of a line item's remaining budget (bounded by the line item's and its
 * campaign's daily and lifetime limits at once), spends it locally with no round trip per
 * decision, and SETTLES it: the part it used becomes a short HOLD (serves whose billable events
 * are still in flight), the rest goes back to the pool. A lease that is never settled (the worker
 * died) EXPIRES after its TTL and returns to the pool whole; the events its serves caused reach
 * the budget as actual spend (recordSpend from tracking, or reconcile from the event log).
 *
 * Per scope (line item day, line item lifetime, campaign day, campaign lifetime) the store keeps:
 *   limit     the cap (null: none), as last passed to reserve
 *   spent     actual billable spend (recordSpend increments it; reconcile raises it to the log's figure)
 *   reserved  the sum of live leases and holds
 * and grants at most  limit - spent - reserved.  See docs/concepts/pacing.md for the overspend bound.
 *
 * All amounts are integer micros; `nowMs` is passed in by the caller (leases expire by the callers'
 * clocks, which keeps the store testable and the Redis scripts free of TIME).
 */

/** The caps that bound a lease: the line item's and its campaign's. null = no such cap. */
export interface LeaseBudget {
  readonly campaignId: string;
  readonly lineItemDailyMicros: number | null;
  readonly lineItemLifetimeMicros: number | null;
  readonly campaignDailyMicros: number | null;
  readonly campaignLifetimeMicros: number | null;
}

export interface Lease {
  /** '' when nothing was granted (no lease is stored then). */
  readonly id: string;
  readonly lineItemId: string;
  readonly campaignId: string;
  /** The budget day, "YYYY-MM-DD" in the line item's time zone. */
  readonly day: string;
  readonly grantedMicros: number;
  readonly expiresAtMs: number;
}

export interface ScopeStatus {
  readonly limitMicros: number | null;
  readonly spentMicros: number;
  /** Live leases and holds. */
  readonly reservedMicros: number;
  /** Of which holds: used lease slices whose events may still be in flight. */
  readonly heldMicros: number;
  /** limit - spent - reserved, at least 0; null without a limit. */
  readonly availableMicros: number | null;
}

export interface BudgetStatus {
  readonly lineItemDay: ScopeStatus;
  readonly lineItemLifetime: ScopeStatus;
  readonly campaignDay: ScopeStatus;
  readonly campaignLifetime: ScopeStatus;
}

export interface ReconcileInput {
  readonly lineItemId: string;
  readonly campaignId: string;
  readonly day: string;
  /** The line item's actual billable spend that day, from the event log or the rollups. */
  readonly dayMicros: number;
  /** Its actual lifetime spend, when known. */
  readonly lifetimeMicros?: number;
}

export interface BudgetLeaseStore {
  /**
   * Reserves up to `wantMicros` of what the line item may still spend on `day`; the grant is 0 when
   * any cap is exhausted. A line item without any cap is granted what it asks.
   */
  reserve(lineItemId: string, day: string, wantMicros: number, budget: LeaseBudget, nowMs: number): Promise<Lease>;
  /**
   * Reports what the worker spent of the lease (serve-time, expected cost); that part is held for
   * the in-flight window, the rest is released. Returns the micros released. Settling an expired
   * lease still holds what was used (nothing else to release). Idempotent per lease id.
   */
  settle(lease: Lease, usedMicros: number, nowMs: number): Promise<number>;
  /** Actual billable spend (valid events from tracking), counted in every scope of the line item. */
  recordSpend(lineItemId: string, campaignId: string, day: string, micros: number, nowMs: number): Promise<void>;
  /**
   * Raises `spent` to the actual figures of the event log/rollups (never lowers it): what a dead
   * worker's serves cost, or spend a crashed worker counted but never reported.
   */
  reconcile(input: ReconcileInput, nowMs: number): Promise<void>;
  status(lineItemId: string, campaignId: string, day: string, nowMs: number): Promise<BudgetStatus>;
  close(): Promise<void>;
  /**
   * reserve() without I/O, offered only by stores that live in the process: lets a worker take the
   * first lease of a line item on the spot instead of refusing it until the next refill.
   */
  readonly reserveSync?: (
    lineItemId: string,
    day: string,
    wantMicros: number,
    budget: LeaseBudget,
    nowMs: number,
  ) => Lease;
}

export interface BudgetLeaseStoreOptions {
  /** A lease not settled within this time returns to the pool. Default 30 s. */
  readonly leaseTtlMs?: number;
  /** How long a settled, used slice stays reserved while its events arrive. Default 120 s. */
  readonly holdMs?: number;
}

export const DEFAULT_LEASE_TTL_MS = 30_000;
export const DEFAULT_HOLD_MS = 120_000;
/** Day scopes are forgotten this long after their last use. */
export const DAY_SCOPE_TTL_MS = 8 * 86_400_000;

/** Amounts from callers are checked: a bad one is a bug upstream, refused loudly. */
export function checkMicros(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer of micros`);
}

/** The budget day key: "YYYY-MM-DD". */
export function checkDay(day: string): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`day must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
}

export function scopeStatus(limit: number | null, spent: number, reserved: number, held: number): ScopeStatus {
  return {
    limitMicros: limit,
    spentMicros: spent,
    reservedMicros: reserved,
    heldMicros: held,
    availableMicros: limit === null ? null : Math.max(0, limit - spent - reserved),
  };
}

/** The grant: the smallest room left under the limited scopes, at most `want`, at least 0. */
export function grantOf(want: number, scopes: readonly { limit: number | null; spent: number; reserved: number }[]) {
  let g = want;
  for (const s of scopes) if (s.limit !== null) g = Math.min(g, s.limit - s.spent - s.reserved);
  return Math.max(0, g);
}
