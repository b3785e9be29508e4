/**
 * Monthly invoices (per advertiser) and earnings statements (per publisher). Usage lines come from the
 * hourly rollups (valid events only, the same sums the reports show) grouped by line item or placement,
 * in the currency of the line item; adjustments and payments come from the ledger entries posted in the
 * month. `postedMicros` tells how much of the usage the ledger holds already (all of it once the month's
 * last hour has settled).
 */
import { ALL, type Store } from '@marquee/store';
import { type MonthRange, monthRange } from './month-range.ts';

/** Rollup groups one document may hold (line items or placements of one tenant in one month). */
const MAX_GROUPS = 100_000;
const MAX_ENTRIES = 5_000;

export interface InvoiceLine {
  readonly campaignId: string;
  readonly campaignName: string;
  readonly lineItemId: string;
  readonly lineItemName: string;
  readonly pricingModel: string;
  readonly currency: string;
  readonly impressions: number;
  readonly clicks: number;
  readonly conversions: number;
  readonly spendMicros: number;
}

export interface LedgerItem {
  readonly entryId: number;
  readonly at: string;
  readonly currency: string;
  /** Adjustments: > 0 adds to what is owed (invoice) or earned (statement), < 0 takes away. Payments: > 0. */
  readonly amountMicros: number;
  readonly note: string;
}

export interface InvoiceTotals {
  readonly currency: string;
  readonly impressions: number;
  readonly clicks: number;
  readonly conversions: number;
  readonly spendMicros: number;
  readonly adjustmentsMicros: number;
  /** spend + adjustments: what the month costs. */
  readonly totalMicros: number;
  readonly paymentsMicros: number;
  readonly postedMicros: number;
}

export interface Invoice {
  readonly kind: 'invoice';
  readonly advertiserId: string;
  readonly advertiserName: string;
  readonly month: string;
  readonly timeZone: string;
  readonly from: string;
  readonly to: string;
  readonly lines: readonly InvoiceLine[];
  readonly adjustments: readonly LedgerItem[];
  readonly payments: readonly LedgerItem[];
  readonly totals: readonly InvoiceTotals[];
}

export interface StatementLine {
  readonly siteId: string;
  readonly siteName: string;
  readonly placementId: string;
  readonly placementName: string;
  readonly currency: string;
  readonly impressions: number;
  readonly clicks: number;
  readonly revenueMicros: number;
}

export interface StatementTotals {
  readonly currency: string;
  readonly impressions: number;
  readonly clicks: number;
  readonly revenueMicros: number;
  readonly adjustmentsMicros: number;
  /** revenue + adjustments: what the publisher earned in the month. */
  readonly totalMicros: number;
  readonly payoutsMicros: number;
  readonly postedMicros: number;
}

export interface Statement {
  readonly kind: 'statement';
  readonly publisherId: string;
  readonly publisherName: string;
  readonly month: string;
  readonly timeZone: string;
  readonly from: string;
  readonly to: string;
  readonly lines: readonly StatementLine[];
  readonly adjustments: readonly LedgerItem[];
  readonly payouts: readonly LedgerItem[];
  readonly totals: readonly StatementTotals[];
}

async function names(store: Store, kind: 'campaign' | 'lineItem' | 'site' | 'placement', ids: Iterable<string>) {
  const list = [...new Set(ids)].filter((id) => id !== '');
  const map = new Map<string, { name: string; currency?: string; pricingModel?: string }>();
  for (let i = 0; i < list.length; i += 500) {
    for (const e of await store.repos[kind].getMany(list.slice(i, i + 500), ALL)) map.set(e.id, e as never);
  }
  return map;
}

/** The ledger items of one party in the month: the line on its own account, signed for the document. */
async function ledgerItems(
  store: Store,
  side: { advertiserIds: string[] } | { publisherIds: string[] },
  kind: 'adjustment' | 'payment',
  range: MonthRange,
  sign: 1 | -1,
): Promise<LedgerItem[]> {
  const accountKind = 'advertiserIds' in side ? 'advertiser' : 'publisher';
  const owner = 'advertiserIds' in side ? side.advertiserIds[0] : side.publisherIds[0];
  const entries = await store.billing.entries({
    ...side,
    kinds: [kind],
    fromMs: range.fromMs,
    toMs: range.toMs,
    limit: MAX_ENTRIES,
  });
  const items: LedgerItem[] = [];
  for (const e of entries.reverse()) {
    const line = e.lines.find((l) => l.account.kind === accountKind && l.account.ownerId === owner);
    if (!line) continue;
    items.push({
      entryId: e.id,
      at: e.createdAt,
      currency: e.currency,
      amountMicros: sign * line.amountMicros,
      note: e.memo,
    });
  }
  return items;
}

function sumBy<T>(items: readonly T[], currency: (t: T) => string, value: (t: T) => number): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of items) m.set(currency(t), (m.get(currency(t)) ?? 0) + value(t));
  return m;
}

export async function buildInvoice(
  store: Store,
  advertiser: { id: string; name: string; currency: string },
  month: string,
  timeZone: string,
): Promise<Invoice> {
  const range = monthRange(month, timeZone);
  const groups = await store.rollups.query({
    dimensions: ['campaign', 'line_item'],
    timeZone,
    fromDay: range.fromDay,
    toDay: range.toDay,
    filters: { advertiser: [advertiser.id] },
    maxGroups: MAX_GROUPS,
  });
  const used = groups.filter(
    (g) =>
      g.keys['line_item'] !== '' &&
      (g.measures.impressions || g.measures.clicks || g.measures.conversions || g.measures.spendMicros),
  );
  const campaigns = await names(
    store,
    'campaign',
    used.map((g) => g.keys['campaign']!),
  );
  const lineItems = await names(
    store,
    'lineItem',
    used.map((g) => g.keys['line_item']!),
  );
  const lines: InvoiceLine[] = used.map((g) => {
    const li = lineItems.get(g.keys['line_item']!);
    return {
      campaignId: g.keys['campaign']!,
      campaignName: campaigns.get(g.keys['campaign']!)?.name ?? '',
      lineItemId: g.keys['line_item']!,
      lineItemName: li?.name ?? '',
      pricingModel: li?.pricingModel ?? '',
      currency: li?.currency ?? advertiser.currency,
      impressions: g.measures.impressions,
      clicks: g.measures.clicks,
      conversions: g.measures.conversions,
      spendMicros: g.measures.spendMicros,
    };
  });
  const side = { advertiserIds: [advertiser.id] };
  // The advertiser's account is debit-normal: a charge is a debit (+), a payment a credit (−).
  const adjustments = await ledgerItems(store, side, 'adjustment', range, 1);
  const payments = await ledgerItems(store, side, 'payment', range, -1);
  const posted = await store.billing.postedUsage({
    advertiserId: advertiser.id,
    fromMs: range.fromMs,
    toMs: range.toMs,
  });
  const currencies = new Set([
    ...lines.map((l) => l.currency),
    ...adjustments.map((a) => a.currency),
    ...payments.map((p) => p.currency),
  ]);
  if (currencies.size === 0) currencies.add(advertiser.currency);
  const adj = sumBy(
    adjustments,
    (a) => a.currency,
    (a) => a.amountMicros,
  );
  const pay = sumBy(
    payments,
    (a) => a.currency,
    (a) => a.amountMicros,
  );
  const totals = [...currencies].sort().map((currency): InvoiceTotals => {
    const mine = lines.filter((l) => l.currency === currency);
    const spendMicros = mine.reduce((s, l) => s + l.spendMicros, 0);
    const adjustmentsMicros = adj.get(currency) ?? 0;
    return {
      currency,
      impressions: mine.reduce((s, l) => s + l.impressions, 0),
      clicks: mine.reduce((s, l) => s + l.clicks, 0),
      conversions: mine.reduce((s, l) => s + l.conversions, 0),
      spendMicros,
      adjustmentsMicros,
      totalMicros: spendMicros + adjustmentsMicros,
      paymentsMicros: pay.get(currency) ?? 0,
      postedMicros: posted.find((p) => p.currency === currency)?.spendMicros ?? 0,
    };
  });
  return {
    kind: 'invoice',
    advertiserId: advertiser.id,
    advertiserName: advertiser.name,
    month,
    timeZone,
    from: range.fromDay,
    to: range.toDay,
    lines,
    adjustments,
    payments,
    totals,
  };
}

export async function buildStatement(
  store: Store,
  publisher: { id: string; name: string },
  networkCurrency: string,
  month: string,
  timeZone: string,
): Promise<Statement> {
  const range = monthRange(month, timeZone);
  const groups = await store.rollups.query({
    dimensions: ['site', 'placement', 'line_item'],
    timeZone,
    fromDay: range.fromDay,
    toDay: range.toDay,
    filters: { publisher: [publisher.id] },
    maxGroups: MAX_GROUPS,
  });
  const used = groups.filter(
    (g) => g.keys['line_item'] !== '' && (g.measures.impressions || g.measures.clicks || g.measures.revenueMicros),
  );
  // The money of a row is in its line item's currency: group placements by currency.
  const lineItems = await names(
    store,
    'lineItem',
    used.map((g) => g.keys['line_item']!),
  );
  const byKey = new Map<
    string,
    {
      siteId: string;
      placementId: string;
      currency: string;
      impressions: number;
      clicks: number;
      revenueMicros: number;
    }
  >();
  for (const g of used) {
    const currency = lineItems.get(g.keys['line_item']!)?.currency ?? networkCurrency;
    const key = `${g.keys['site']}|${g.keys['placement']}|${currency}`;
    const cur = byKey.get(key) ?? {
      siteId: g.keys['site']!,
      placementId: g.keys['placement']!,
      currency,
      impressions: 0,
      clicks: 0,
      revenueMicros: 0,
    };
    cur.impressions += g.measures.impressions;
    cur.clicks += g.measures.clicks;
    cur.revenueMicros += g.measures.revenueMicros;
    byKey.set(key, cur);
  }
  const sites = await names(
    store,
    'site',
    [...byKey.values()].map((v) => v.siteId),
  );
  const placements = await names(
    store,
    'placement',
    [...byKey.values()].map((v) => v.placementId),
  );
  const lines: StatementLine[] = [...byKey.values()].map((v) => ({
    siteId: v.siteId,
    siteName: sites.get(v.siteId)?.name ?? '',
    placementId: v.placementId,
    placementName: placements.get(v.placementId)?.name ?? '',
    currency: v.currency,
    impressions: v.impressions,
    clicks: v.clicks,
    revenueMicros: v.revenueMicros,
  }));
  const side = { publisherIds: [publisher.id] };
  // The publisher's account is credit-normal: earnings are credits (−), payouts debits (+).
  const adjustments = await ledgerItems(store, side, 'adjustment', range, -1);
  const payouts = await ledgerItems(store, side, 'payment', range, 1);
  const posted = await store.billing.postedUsage({ publisherId: publisher.id, fromMs: range.fromMs, toMs: range.toMs });
  const currencies = new Set([
    ...lines.map((l) => l.currency),
    ...adjustments.map((a) => a.currency),
    ...payouts.map((p) => p.currency),
  ]);
  if (currencies.size === 0) currencies.add(networkCurrency);
  const adj = sumBy(
    adjustments,
    (a) => a.currency,
    (a) => a.amountMicros,
  );
  const paid = sumBy(
    payouts,
    (a) => a.currency,
    (a) => a.amountMicros,
  );
  const totals = [...currencies].sort().map((currency): StatementTotals => {
    const mine = lines.filter((l) => l.currency === currency);
    const revenueMicros = mine.reduce((s, l) => s + l.revenueMicros, 0);
    const adjustmentsMicros = adj.get(currency) ?? 0;
    return {
      currency,
      impressions: mine.reduce((s, l) => s + l.impressions, 0),
      clicks: mine.reduce((s, l) => s + l.clicks, 0),
      revenueMicros,
      adjustmentsMicros,
      totalMicros: revenueMicros + adjustmentsMicros,
      payoutsMicros: paid.get(currency) ?? 0,
      postedMicros: posted.find((p) => p.currency === currency)?.revenueMicros ?? 0,
    };
  });
  return {
    kind: 'statement',
    publisherId: publisher.id,
    publisherName: publisher.name,
    month,
    timeZone,
    from: range.fromDay,
    to: range.toDay,
    lines,
    adjustments,
    payouts,
    totals,
  };
}
