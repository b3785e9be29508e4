import { randomUUID } from 'node:crypto';
import {
  type BudgetLeaseStore,
  type BudgetLeaseStoreOptions,
  type BudgetStatus,
  checkDay,
  checkMicros,
  DEFAULT_HOLD_MS,
  DEFAULT_LEASE_TTL_MS,
  grantOf,
  type Lease,
  type LeaseBudget,
  type ReconcileInput,
  scopeStatus,
} from './budget-lease-store.ts';

interface Scope {
  limit: number | null;
  spent: number;
  reserved: number;
  held: number;
}

interface Reservation {
  readonly amount: number;
  readonly expiresAtMs: number;
  readonly lineItemId: string;
  readonly day: string;
  readonly hold: boolean;
}

/** A campaign's scopes and reservations: every operation touches one campaign (as in Redis). */
interface CampaignState {
  readonly scopes: Map<string, Scope>;
  readonly reservations: Map<string, Reservation>;
}

/**
 * Leases in a Map: the embedded topology (one process, one or many pacing clients), and the
 * reference the Redis store is held to by the shared contract suite.
 */
export class InMemoryBudgetLeaseStore implements BudgetLeaseStore {
  private readonly campaigns = new Map<string, CampaignState>();
  private readonly leaseTtlMs: number;
  private readonly holdMs: number;

  constructor(options: BudgetLeaseStoreOptions = {}) {
    this.leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.holdMs = options.holdMs ?? DEFAULT_HOLD_MS;
  }

  async reserve(lineItemId: string, day: string, wantMicros: number, budget: LeaseBudget, nowMs: number) {
    return this.reserveSync(lineItemId, day, wantMicros, budget, nowMs);
  }

  readonly reserveSync = (
    lineItemId: string,
    day: string,
    wantMicros: number,
    budget: LeaseBudget,
    nowMs: number,
  ): Lease => {
    checkMicros('wantMicros', wantMicros);
    checkDay(day);
    const c = this.campaign(budget.campaignId, nowMs);
    const scopes = this.scopesOf(c, lineItemId, day);
    scopes[0].limit = budget.lineItemDailyMicros;
    scopes[1].limit = budget.lineItemLifetimeMicros;
    scopes[2].limit = budget.campaignDailyMicros;
    scopes[3].limit = budget.campaignLifetimeMicros;
    const granted = grantOf(wantMicros, scopes);
    const expiresAtMs = nowMs + this.leaseTtlMs;
    const base = { lineItemId, campaignId: budget.campaignId, day, grantedMicros: granted, expiresAtMs };
    if (granted === 0) return { id: '', ...base } satisfies Lease;
    const id = randomUUID();
    for (const s of scopes) s.reserved += granted;
    c.reservations.set(id, { amount: granted, expiresAtMs, lineItemId, day, hold: false });
    return { id, ...base } satisfies Lease;
  };

  async settle(lease: Lease, usedMicros: number, nowMs: number): Promise<number> {
    checkMicros('usedMicros', usedMicros);
    if (lease.id === '' && usedMicros === 0) return 0;
    const c = this.campaign(lease.campaignId, nowMs);
    const scopes = this.scopesOf(c, lease.lineItemId, lease.day);
    // A used slice of a never-granted lease (overdraft) still needs a unique hold id.
    const holdId = `${lease.id === '' ? randomUUID() : lease.id}:h`;
    if (c.reservations.has(holdId)) return 0; // settled already
    const live = c.reservations.get(lease.id);
    let released = 0;
    if (live) {
      c.reservations.delete(lease.id);
      for (const s of scopes) s.reserved -= live.amount;
      released = Math.max(0, live.amount - usedMicros);
    }
    if (usedMicros > 0) {
      for (const s of scopes) {
        s.reserved += usedMicros;
        s.held += usedMicros;
      }
      c.reservations.set(holdId, {
        amount: usedMicros,
        expiresAtMs: nowMs + this.holdMs,
        lineItemId: lease.lineItemId,
        day: lease.day,
        hold: true,
      });
    }
    return released;
  }

  async recordSpend(lineItemId: string, campaignId: string, day: string, micros: number, nowMs: number) {
    checkMicros('micros', micros);
    checkDay(day);
    const c = this.campaign(campaignId, nowMs);
    for (const s of this.scopesOf(c, lineItemId, day)) s.spent += micros;
  }

  async reconcile(input: ReconcileInput, nowMs: number): Promise<void> {
    checkMicros('dayMicros', input.dayMicros);
    checkDay(input.day);
    if (input.lifetimeMicros !== undefined) checkMicros('lifetimeMicros', input.lifetimeMicros);
    const c = this.campaign(input.campaignId, nowMs);
    const [liDay, liLife, cmpDay, cmpLife] = this.scopesOf(c, input.lineItemId, input.day);
    // Raising the line item's figure raises its campaign's by the same amount.
    const dDay = Math.max(0, input.dayMicros - liDay.spent);
    liDay.spent += dDay;
    cmpDay.spent += dDay;
    const dLife = input.lifetimeMicros === undefined ? 0 : Math.max(0, input.lifetimeMicros - liLife.spent);
    liLife.spent += dLife;
    cmpLife.spent += dLife;
  }

  async status(lineItemId: string, campaignId: string, day: string, nowMs: number): Promise<BudgetStatus> {
    checkDay(day);
    const c = this.campaign(campaignId, nowMs);
    const [a, b, d, e] = this.scopesOf(c, lineItemId, day).map((s) =>
      scopeStatus(s.limit, s.spent, s.reserved, s.held),
    );
    return { lineItemDay: a!, lineItemLifetime: b!, campaignDay: d!, campaignLifetime: e! };
  }

  async close(): Promise<void> {
    this.campaigns.clear();
  }

  /** The campaign's state with its expired leases and holds given back. */
  private campaign(campaignId: string, nowMs: number): CampaignState {
    let c = this.campaigns.get(campaignId);
    if (!c) {
      c = { scopes: new Map(), reservations: new Map() };
      this.campaigns.set(campaignId, c);
      return c;
    }
    for (const [id, r] of c.reservations) {
      if (r.expiresAtMs > nowMs) continue;
      c.reservations.delete(id);
      for (const s of this.scopesOf(c, r.lineItemId, r.day)) {
        s.reserved -= r.amount;
        if (r.hold) s.held -= r.amount;
      }
    }
    return c;
  }

  private scopesOf(c: CampaignState, lineItemId: string, day: string): [Scope, Scope, Scope, Scope] {
    const get = (k: string): Scope => {
      let s = c.scopes.get(k);
      if (!s) {
        s = { limit: null, spent: 0, reserved: 0, held: 0 };
        c.scopes.set(k, s);
      }
      return s;
    };
    return [get(`li|${lineItemId}|${day}`), get(`li|${lineItemId}|life`), get(`cmp|${day}`), get('cmp|life')];
  }
}
