/**
 * What a BudgetPacing worker leases. The lease store counts integers against caps and does not care
 * what they are, so the same machinery (reserve, settle, hold, expiry, reconcile: the same overspend
 * bound) enforces budgets in micros and impression goals in impressions:
 *
 *   spendScope            micros; line item and campaign caps (daily, lifetime); paced by the controller
 *   impressionGoalScope   impressions; the line item's daily and lifetime impression goals; a serve
 *                         reserves one impression (at most one impression per served ad, so the
 *                         reservation is an upper bound, not an estimate)
 *   clickGoalScope        micro-clicks (1,000,000 a click); the click goals; a serve reserves its
 *                         predicted CTR in ppm (an expectation, as for CPC spend); actual clicks
 *                         reach the store from the rollups (the reconcile, every minute)
 *
 * A goal lives under keys of its own in the store (`<lineItemId>#impressions`, `#clicks`, the same key as
 * its "campaign": goals have no campaign-level cap), so it never mixes with spend.
 */
import type { Campaign } from '@marquee/core';
import type { ServingLineItem } from '@marquee/decision';
import type { LeaseBudget } from './budget-lease-store.ts';

export interface LeaseScope {
  readonly name: string;
  /** Whether the pacing controller runs on this scope (only spend is paced). */
  readonly paced: boolean;
  /** The line item's key in the lease store. */
  key(lineItemId: string): string;
  /** The key its campaign-level scopes are counted under. */
  campaignKey(sli: ServingLineItem): string;
  /** The caps, in the scope's unit, with `campaignId` = campaignKey; null: nothing to lease. */
  budget(sli: ServingLineItem, campaign: Campaign | undefined): LeaseBudget | null;
  /** The most one serve can use (the gate needs a lease covering it); 0: unknown, any balance will do. */
  serveCost(sli: ServingLineItem): number;
  /** One serve's size for lease sizing (a lease is at least 20 of them). */
  unit(sli: ServingLineItem): number;
}

export const spendScope: LeaseScope = {
  name: 'spend',
  paced: true,
  key: (id) => id,
  campaignKey: (sli) => sli.campaignId,
  budget: (sli, campaign) => ({
    campaignId: sli.campaignId,
    lineItemDailyMicros: sli.lineItem.dailyBudgetMicros,
    lineItemLifetimeMicros: sli.lineItem.lifetimeBudgetMicros,
    campaignDailyMicros: campaign?.dailyBudgetMicros ?? null,
    campaignLifetimeMicros: campaign?.lifetimeBudgetMicros ?? null,
  }),
  // A CPM serve costs at most the rate per impression; a flat fee is not charged per serve.
  serveCost: (sli) => (sli.lineItem.pricingModel === 'cpm' ? Math.floor(sli.lineItem.rateMicros / 1000) : 0),
  unit: (sli) => Math.max(1, Math.ceil(sli.lineItem.rateMicros / 1000)),
};

export const IMPRESSION_GOAL_SUFFIX = '#impressions';

export const impressionGoalScope: LeaseScope = {
  name: 'impressions',
  paced: false,
  key: (id) => id + IMPRESSION_GOAL_SUFFIX,
  campaignKey: (sli) => sli.id + IMPRESSION_GOAL_SUFFIX,
  budget: (sli) => {
    const li = sli.lineItem;
    if (li.dailyImpressionGoal == null && li.lifetimeImpressionGoal == null) return null;
    return {
      campaignId: sli.id + IMPRESSION_GOAL_SUFFIX,
      lineItemDailyMicros: li.dailyImpressionGoal ?? null,
      lineItemLifetimeMicros: li.lifetimeImpressionGoal ?? null,
      campaignDailyMicros: null,
      campaignLifetimeMicros: null,
    };
  },
  serveCost: () => 1,
  unit: () => 1,
};

export const CLICK_GOAL_SUFFIX = '#clicks';
/** Click goals are leased in millionths of a click: a serve reserves its predicted CTR in ppm. */
export const MICRO_CLICKS_PER_CLICK = 1_000_000;

export const clickGoalScope: LeaseScope = {
  name: 'clicks',
  paced: false,
  key: (id) => id + CLICK_GOAL_SUFFIX,
  campaignKey: (sli) => sli.id + CLICK_GOAL_SUFFIX,
  budget: (sli) => {
    const li = sli.lineItem;
    if (li.dailyClickGoal == null && li.lifetimeClickGoal == null) return null;
    return {
      campaignId: sli.id + CLICK_GOAL_SUFFIX,
      lineItemDailyMicros: li.dailyClickGoal == null ? null : li.dailyClickGoal * MICRO_CLICKS_PER_CLICK,
      lineItemLifetimeMicros: li.lifetimeClickGoal == null ? null : li.lifetimeClickGoal * MICRO_CLICKS_PER_CLICK,
      campaignDailyMicros: null,
      campaignLifetimeMicros: null,
    };
  },
  serveCost: () => 0, // unknown before the decision: any balance left admits a serve
  unit: () => 1_000, // a 0.1% CTR: leases are at least 20 serves of it
};
