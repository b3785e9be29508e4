/**
 * Delivery against plan for one line item (pure): its goal, what it delivered to date and today (in
 * its own time zone), what its pacing mode expects by now, and a status.
 *
 * Expected share of the goal at flight fraction t (0 at startAt, 1 at endAt):
 *   even         t                      (a straight line over the flight)
 *   frontloaded  1.5t - 0.5t²           (rate 1.5× the even rate at the start, falling linearly to 0.5×)
 *   asap         1                      (everything is due at once; only the daily cap slows it)
 * Without an end date the lifetime goal has no schedule: the daily goal is used, expected by now =
 * daily × fraction of the local day elapsed for even (× the same curve for frontloaded), the whole daily
 * goal for asap. Status: not_started before startAt; completed once the goal is reached (or the flight
 * is over having delivered at least 99% of it); otherwise delivered/expected below 0.9 is behind, above
 * 1.1 ahead, else on_track (a flight that ended short of 99% is behind).
 */
import type { LineItem } from '@marquee/core';

export type DeliveryStatus = 'not_started' | 'on_track' | 'behind' | 'ahead' | 'completed';

export interface DeliveryTotals {
  readonly spendMicros: number;
  readonly impressions: number;
}

export interface LineItemDelivery {
  readonly lineItemId: string;
  readonly name: string;
  readonly advertiserId: string;
  readonly campaignId: string;
  readonly lineItemStatus: string;
  readonly pacing: LineItem['pacing'];
  readonly timeZone: string;
  /** What the plan is measured in: spend (micros) or impressions; none when the line item has no goal. */
  readonly goalKind: 'budget' | 'impressions' | 'none';
  readonly lifetimeGoal: number | null;
  readonly dailyGoal: number | null;
  readonly delivered: DeliveryTotals;
  readonly today: DeliveryTotals & { readonly day: string };
  /** Expected by now, in the goal's unit (lifetime when the flight has an end and a lifetime goal, else today). */
  readonly expectedByNow: number | null;
  readonly basis: 'lifetime' | 'daily' | 'none';
  /** delivered (or today) / expected, 3 decimals; null when nothing is expected yet. */
  readonly paceRatio: number | null;
  readonly status: DeliveryStatus;
}

/** Share of the goal due at flight fraction t in [0, 1]. */
export function expectedShare(pacing: LineItem['pacing'], t: number): number {
  const x = Math.min(1, Math.max(0, t));
  switch (pacing) {
    case 'even':
      return x;
    case 'frontloaded':
      return 1.5 * x - 0.5 * x * x;
    case 'asap':
      return 1;
  }
}

export interface DeliveryInput {
  readonly lineItem: LineItem;
  readonly delivered: DeliveryTotals;
  readonly today: DeliveryTotals;
  /** The local date "YYYY-MM-DD" and the fraction of that local day elapsed, in the line item's zone. */
  readonly localDay: string;
  readonly dayFraction: number;
  readonly nowMs: number;
}

export function lineItemDelivery(input: DeliveryInput): LineItemDelivery {
  const { lineItem: li, delivered, today, nowMs } = input;
  const byBudget =
    li.lifetimeBudgetMicros != null || (li.lifetimeImpressionGoal == null && li.dailyBudgetMicros != null);
  const goalKind: LineItemDelivery['goalKind'] = byBudget
    ? 'budget'
    : li.lifetimeImpressionGoal != null || li.dailyImpressionGoal != null
      ? 'impressions'
      : 'none';
  const lifetimeGoal =
    goalKind === 'budget' ? li.lifetimeBudgetMicros : goalKind === 'impressions' ? li.lifetimeImpressionGoal : null;
  const dailyGoal =
    goalKind === 'budget' ? li.dailyBudgetMicros : goalKind === 'impressions' ? li.dailyImpressionGoal : null;
  const pick = (t: DeliveryTotals) => (goalKind === 'budget' ? t.spendMicros : t.impressions);

  const startMs = Date.parse(li.startAt);
  const endMs = li.endAt ? Date.parse(li.endAt) : null;
  let basis: LineItemDelivery['basis'] = 'none';
  let expected: number | null = null;
  let actual = 0;
  if (lifetimeGoal != null && endMs !== null && endMs > startMs) {
    basis = 'lifetime';
    expected = Math.floor(lifetimeGoal * expectedShare(li.pacing, (nowMs - startMs) / (endMs - startMs)));
    actual = pick(delivered);
  } else if (dailyGoal != null) {
    basis = 'daily';
    expected = Math.floor(dailyGoal * expectedShare(li.pacing, input.dayFraction));
    actual = pick(today);
  }

  let status: DeliveryStatus;
  const ended = endMs !== null && nowMs >= endMs;
  if (nowMs < startMs) status = 'not_started';
  else if (lifetimeGoal != null && pick(delivered) >= lifetimeGoal) status = 'completed';
  else if (ended) status = lifetimeGoal == null || pick(delivered) >= lifetimeGoal * 0.99 ? 'completed' : 'behind';
  else if (expected === null || expected === 0) status = 'on_track';
  else {
    const r = actual / expected;
    status = r < 0.9 ? 'behind' : r > 1.1 ? 'ahead' : 'on_track';
  }
  return {
    lineItemId: li.id,
    name: li.name,
    advertiserId: li.advertiserId,
    campaignId: li.campaignId,
    lineItemStatus: li.status,
    pacing: li.pacing,
    timeZone: li.timeZone,
    goalKind,
    lifetimeGoal,
    dailyGoal,
    delivered,
    today: { ...today, day: input.localDay },
    expectedByNow: expected,
    basis,
    paceRatio: expected ? Math.round((actual / expected) * 1000) / 1000 : null,
    status,
  };
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The local date and the fraction of it elapsed at `nowMs` in `zone` (UTC when the zone is unknown). */
export function localDayAt(nowMs: number, zone: string): { day: string; fraction: number } {
  let fmt = formats.get(zone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      return localDayAt(nowMs, 'UTC');
    }
    formats.set(zone, fmt);
  }
  const p: Record<string, string> = {};
  for (const part of fmt.formatToParts(nowMs)) p[part.type] = part.value;
  const seconds = (Number(p['hour']) % 24) * 3600 + Number(p['minute']) * 60 + Number(p['second']);
  return { day: `${p['year']}-${p['month']}-${p['day']}`, fraction: seconds / 86_400 };
}
