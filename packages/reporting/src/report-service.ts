/**
 * The I/O half of reporting: runs a validated ReportRequest against the rollups (rows and exact totals,
 * two queries), joins entity names, and computes delivery against plan for line items.
 */
import type { LineItem } from '@marquee/core';
import { ALL, type EntityKind, type RollupMeasures, type Store } from '@marquee/store';
import { HOUR_MS } from './aggregate-events.ts';
import { type DeliveryTotals, type LineItemDelivery, lineItemDelivery, localDayAt } from './delivery.ts';
import { buildReport, NAMED_DIMENSIONS, type Report } from './report-format.ts';
import type { Dimension, ReportRequest } from './report-request.ts';

/** Groups one report may aggregate before it is cut (truncated: true) and the caller must narrow it. */
export const MAX_REPORT_GROUPS = 100_000;

const KIND_OF: Partial<Record<Dimension, EntityKind>> = {
  advertiser: 'advertiser',
  campaign: 'campaign',
  line_item: 'lineItem',
  creative: 'creative',
  publisher: 'publisher',
  site: 'site',
  placement: 'placement',
};

export const ZERO_MEASURES: RollupMeasures = Object.freeze({
  requests: 0,
  impressions: 0,
  viewableImpressions: 0,
  clicks: 0,
  conversions: 0,
  customEvents: 0,
  events: 0,
  spendMicros: 0,
  revenueMicros: 0,
  invalidEvents: 0,
});

type ReportStore = Pick<Store, 'rollups' | 'repos'>;

export async function runReport(store: ReportStore, request: ReportRequest): Promise<Report> {
  const base = {
    timeZone: request.timeZone,
    fromDay: request.from,
    toDay: request.to,
    filters: request.filters,
    invalidByReason: request.dimensions.includes('reason'),
  };
  const groups = await store.rollups.query({
    ...base,
    dimensions: request.dimensions,
    maxGroups: MAX_REPORT_GROUPS + 1,
  });
  const [total] = await store.rollups.query({ ...base, dimensions: [], maxGroups: 1 });
  const capped = groups.length > MAX_REPORT_GROUPS;
  if (capped) groups.length = MAX_REPORT_GROUPS;

  // Names of the entities in the rows. The rows are already scoped, so names are read network-wide: a
  // publisher sees the name of an advertiser that ran on its pages, an advertiser the sites it ran on.
  const names = new Map<string, string>();
  for (const d of request.dimensions) {
    const kind = KIND_OF[d];
    if (!kind || !NAMED_DIMENSIONS.includes(d)) continue;
    const ids = [...new Set(groups.map((g) => g.keys[d] ?? '').filter((id) => id !== ''))];
    for (let i = 0; i < ids.length; i += 1000) {
      for (const e of await store.repos[kind].getMany(ids.slice(i, i + 1000), ALL)) names.set(`${d}:${e.id}`, e.name);
    }
  }
  return buildReport(request, groups, total?.measures ?? ZERO_MEASURES, (d, id) => names.get(`${d}:${id}`), capped);
}

/** Delivery against plan of the given line items at `nowMs`. */
export async function deliveryOf(
  store: Pick<Store, 'rollups'>,
  lineItems: readonly LineItem[],
  nowMs: number,
): Promise<LineItemDelivery[]> {
  const lifetime = new Map<string, DeliveryTotals>();
  const today = new Map<string, { spendMicros: number; impressions: number }>();
  const byId = new Map(lineItems.map((li) => [li.id, li]));
  const nowDay = new Map(lineItems.map((li) => [li.id, localDayAt(nowMs, li.timeZone)]));
  const ids = [...byId.keys()];
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const filters = { line_item: chunk };
    for (const g of await store.rollups.query({
      dimensions: ['line_item'],
      timeZone: 'UTC',
      filters,
      maxGroups: chunk.length + 1,
    })) {
      lifetime.set(g.keys['line_item']!, { spendMicros: g.measures.spendMicros, impressions: g.measures.impressions });
    }
    // Today in each line item's zone lies within the last 27 hours (offsets span UTC-12..UTC+14).
    const fromMs = Math.floor((nowMs - 27 * HOUR_MS) / HOUR_MS) * HOUR_MS;
    for (const g of await store.rollups.query({
      dimensions: ['line_item', 'hour'],
      timeZone: 'UTC',
      fromMs,
      filters,
      maxGroups: chunk.length * 30,
    })) {
      const id = g.keys['line_item']!;
      const li = byId.get(id);
      if (!li) continue;
      const hourMs = Date.parse(`${g.keys['hour']}:00Z`);
      // An hour counts in the local day its start falls in (exact for whole-hour offsets).
      if (localDayAt(hourMs, li.timeZone).day !== nowDay.get(id)!.day) continue;
      const t = today.get(id) ?? { spendMicros: 0, impressions: 0 };
      t.spendMicros += g.measures.spendMicros;
      t.impressions += g.measures.impressions;
      today.set(id, t);
    }
  }
  const zero = { spendMicros: 0, impressions: 0 };
  return lineItems.map((li) => {
    const local = nowDay.get(li.id)!;
    return lineItemDelivery({
      lineItem: li,
      delivered: lifetime.get(li.id) ?? zero,
      today: today.get(li.id) ?? zero,
      localDay: local.day,
      dayFraction: local.fraction,
      nowMs,
    });
  });
}
