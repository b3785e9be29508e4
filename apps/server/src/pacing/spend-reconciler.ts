/**
 * Reconciles the shared budget leases with the event log, through its hourly rollups: for every line
 * item with a budget or a goal, today's (in its zone) and lifetime spend, impressions and clicks
 * as the rollups have them are passed to the lease store's `reconcile`, which raises its figures to
 * them and never lowers them (so running it on every server, or twice, is harmless).
 *
 * Why: a worker killed mid-day loses the actual spend it counted but had not reported yet (at most
 * one flush interval), and on restart an embedded (in-process) store knows nothing of the days
 * before. The events themselves are durable in the log and reach the rollups within seconds, so
 * after one reconcile the store again grants nothing beyond the caps (docs/concepts/pacing.md).
 * Clicks reach the click goals' leases only this way (tracking's spend counters carry spend and
 * impressions).
 */
import type { ServingLineItem, ServingSnapshot } from '@marquee/decision';
import {
  type BudgetLeaseStore,
  clickGoalScope,
  impressionGoalScope,
  type LeaseScope,
  MICRO_CLICKS_PER_CLICK,
  spendScope,
} from '@marquee/pacing';
import type { RollupStore } from '@marquee/store';

const HOUR_MS = 3_600_000;
/** Line item ids per rollup query (an IN list). */
const CHUNK = 500;

export interface ReconcileReport {
  /** Line items reconciled. */
  readonly lineItems: number;
  /** Their ids. */
  readonly ids: readonly string[];
}

interface Leased {
  spend: boolean;
  impressions: boolean;
  clicks: boolean;
}

function leased(sli: ServingLineItem, snapshot: ServingSnapshot): Leased {
  const li = sli.lineItem;
  const campaign = snapshot.source.maps.campaign.get(sli.campaignId);
  return {
    spend:
      li.dailyBudgetMicros != null ||
      li.lifetimeBudgetMicros != null ||
      campaign?.dailyBudgetMicros != null ||
      campaign?.lifetimeBudgetMicros != null,
    impressions: li.dailyImpressionGoal != null || li.lifetimeImpressionGoal != null,
    clicks: li.dailyClickGoal != null || li.lifetimeClickGoal != null,
  };
}

export async function reconcileFromRollups(
  rollups: Pick<RollupStore, 'query'>,
  leases: BudgetLeaseStore,
  snapshot: ServingSnapshot,
  nowMs: number,
  /** Only these line items (a catch-up for line items first asked for after start); default: all. */
  only?: Iterable<string>,
): Promise<ReconcileReport> {
  const targets: ({ sli: ServingLineItem } & Leased)[] = [];
  const candidates = only
    ? [...only].map((id) => snapshot.lineItemById.get(id)).filter((x): x is ServingLineItem => x !== undefined)
    : snapshot.lineItemById.values();
  for (const sli of candidates) {
    const l = leased(sli, snapshot);
    if (l.spend || l.impressions || l.clicks) targets.push({ sli, ...l });
  }
  // Today in any zone started within the last 27 hours (offsets span UTC-12..UTC+14).
  const fromMs = Math.floor((nowMs - 27 * HOUR_MS) / HOUR_MS) * HOUR_MS;
  for (let i = 0; i < targets.length; i += CHUNK) {
    const chunk = targets.slice(i, i + CHUNK);
    const filters = { line_item: chunk.map((t) => t.sli.id) };
    const [lifetime, recent] = await Promise.all([
      rollups.query({ dimensions: ['line_item'], timeZone: 'UTC', filters, maxGroups: chunk.length + 1 }),
      rollups.query({
        dimensions: ['line_item', 'hour'],
        timeZone: 'UTC',
        fromMs,
        filters,
        maxGroups: chunk.length * 30,
      }),
    ]);
    const life = new Map(lifetime.map((g) => [g.keys['line_item']!, g.measures]));
    const today = new Map<string, { spend: number; impressions: number; clicks: number }>();
    const byId = new Map(chunk.map((t) => [t.sli.id, t.sli]));
    for (const g of recent) {
      const id = g.keys['line_item']!;
      const sli = byId.get(id);
      if (!sli) continue;
      const hourMs = Date.parse(`${g.keys['hour']}:00Z`);
      // An hour counts in the local day its start falls in (exact for whole-hour offsets).
      if (sli.clock.localDay(hourMs) !== sli.clock.localDay(nowMs)) continue;
      const t = today.get(id) ?? { spend: 0, impressions: 0, clicks: 0 };
      t.spend += g.measures.spendMicros;
      t.impressions += g.measures.impressions;
      t.clicks += g.measures.clicks;
      today.set(id, t);
    }
    const work: Promise<void>[] = [];
    const raise = (scope: LeaseScope, sli: ServingLineItem, day: string, dayUnits: number, lifetimeUnits: number) => {
      if (dayUnits <= 0 && lifetimeUnits <= 0) return;
      work.push(
        leases.reconcile(
          {
            lineItemId: scope.key(sli.id),
            campaignId: scope.campaignKey(sli),
            day,
            dayMicros: dayUnits,
            lifetimeMicros: lifetimeUnits,
          },
          nowMs,
        ),
      );
    };
    for (const { sli, spend, impressions, clicks } of chunk) {
      const day = sli.clock.localDay(nowMs);
      const t = today.get(sli.id) ?? { spend: 0, impressions: 0, clicks: 0 };
      const l = life.get(sli.id);
      if (spend) raise(spendScope, sli, day, t.spend, l?.spendMicros ?? 0);
      if (impressions) raise(impressionGoalScope, sli, day, t.impressions, l?.impressions ?? 0);
      if (clicks)
        raise(clickGoalScope, sli, day, t.clicks * MICRO_CLICKS_PER_CLICK, (l?.clicks ?? 0) * MICRO_CLICKS_PER_CLICK);
    }
    await Promise.all(work);
  }
  return { lineItems: targets.length, ids: targets.map((t) => t.sli.id) };
}
