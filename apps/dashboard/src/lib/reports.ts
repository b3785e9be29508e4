/**
 * The reporting API's shapes (packages/reporting: report-request.ts, report-format.ts, delivery.ts) and calls.
 * A server without the reporting routes answers 404 "No route": screens then say so instead of showing numbers.
 */
import { API, ApiError, getJson, type Query, queryString } from './api.ts';
import { formatInt, formatMoney, formatPercent } from './money.ts';

export const MEASURES = [
  'requests',
  'impressions',
  'viewable_impressions',
  'clicks',
  'conversions',
  'spend',
  'revenue',
  'ctr',
  'cvr',
  'ecpm',
  'revenue_ecpm',
  'fill_rate',
  'viewability',
  'ivt_rate',
  'invalid_events',
] as const;
export type Measure = (typeof MEASURES)[number];
export const DIMENSIONS = [
  'hour',
  'day',
  'week',
  'month',
  'advertiser',
  'campaign',
  'line_item',
  'creative',
  'publisher',
  'site',
  'placement',
  'country',
  'device',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const TIME_DIMENSIONS: readonly Dimension[] = ['hour', 'day', 'week', 'month'];
export const FILTER_DIMENSIONS: readonly Dimension[] = [
  'advertiser',
  'campaign',
  'line_item',
  'creative',
  'publisher',
  'site',
  'placement',
  'country',
  'device',
];
/** Money measures come as `<m>_micros` (integer) beside `<m>` (decimal text). */
export const MONEY_MEASURES: readonly Measure[] = ['spend', 'revenue', 'ecpm', 'revenue_ecpm'];
export const RATIO_MEASURES: readonly Measure[] = ['ctr', 'cvr', 'fill_rate', 'viewability', 'ivt_rate'];
/** What each side may not see (mirrors HIDDEN_FROM on the server). */
export const HIDDEN: Record<'advertiser' | 'publisher', { measures: Measure[]; dimensions: Dimension[] }> = {
  advertiser: { measures: ['revenue', 'revenue_ecpm'], dimensions: [] },
  publisher: { measures: ['spend', 'ecpm'], dimensions: ['campaign', 'line_item', 'creative'] },
};

export type Cell = string | number | null;
export interface Report {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, Cell>[];
  readonly totals: Record<string, Cell>;
  readonly truncated: boolean;
}

export interface ReportParams {
  readonly measures: readonly Measure[];
  readonly dimensions: readonly Dimension[];
  readonly from: string;
  readonly to: string;
  readonly filters?: Partial<Record<Dimension, readonly string[]>>;
  readonly sort?: string;
  readonly limit?: number;
}

export function toQuery(p: ReportParams): Query {
  const filters = Object.entries(p.filters ?? {})
    .filter(([, v]) => v && v.length > 0)
    .map(([d, v]) => `${d}:${(v as string[]).join('|')}`)
    .join(',');
  return {
    measures: p.measures.join(','),
    dimensions: p.dimensions.join(',') || undefined,
    from: p.from,
    to: p.to,
    filters: filters || undefined,
    sort: p.sort,
    limit: p.limit,
  };
}

export function runReport(p: ReportParams): Promise<Report> {
  return getJson<Report>(`${API}/reports`, toQuery(p));
}
/** The same report as a CSV file (a plain link: the session cookie authenticates GETs). */
export function reportCsvHref(p: ReportParams): string {
  return `${API}/reports${queryString({ ...toQuery(p), format: 'csv' })}`;
}

export type DeliveryStatus = 'not_started' | 'on_track' | 'behind' | 'ahead' | 'completed';
export interface LineItemDelivery {
  readonly lineItemId: string;
  readonly name: string;
  readonly advertiserId: string;
  readonly campaignId: string;
  readonly lineItemStatus: string;
  readonly pacing: string;
  readonly timeZone: string;
  readonly goalKind: 'budget' | 'impressions' | 'none';
  readonly lifetimeGoal: number | null;
  readonly dailyGoal: number | null;
  readonly delivered: { spendMicros: number; impressions: number };
  readonly today: { spendMicros: number; impressions: number; day: string };
  readonly expectedByNow: number | null;
  readonly basis: 'lifetime' | 'daily' | 'none';
  readonly paceRatio: number | null;
  readonly status: DeliveryStatus;
}

export async function getDelivery(query: Query = {}): Promise<LineItemDelivery[]> {
  const data = await getJson<LineItemDelivery[] | { items: LineItemDelivery[] }>(`${API}/reports/delivery`, query);
  return Array.isArray(data) ? data : data.items;
}

/** True when the server has no reporting routes yet (an unknown route, not an empty report). */
export function notAvailable(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && error.message.startsWith('No route');
}

export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
export function daysAgo(n: number, from = new Date()): string {
  return isoDay(new Date(from.getTime() - n * 86_400_000));
}

/** Demand dimensions are empty ('') on rows of requests that no line item filled (requests carry a line item only when filled). */
const DEMAND_DIMENSIONS: readonly string[] = ['advertiser', 'campaign', 'line_item', 'creative'];
export const UNFILLED = '(unfilled requests)';

/** A dimension cell for people: the joined name, else the id, else what an empty value means. */
export function dimensionText(dimension: string, row: Record<string, unknown>): string {
  const name = row[`${dimension}_name`];
  if (name !== null && name !== undefined && name !== '') return String(name);
  const id = row[dimension];
  if (id !== null && id !== undefined && id !== '') return String(id);
  return DEMAND_DIMENSIONS.includes(dimension) ? UNFILLED : '(unknown)';
}

/** A report cell for people: money from its micros column, rates as percentages, counts grouped. */
export function formatCell(measure: string, row: Record<string, Cell> | undefined): string {
  if (!row) return '—';
  if (row[`${measure}_micros`] !== undefined) return formatMoney(row[`${measure}_micros`] as number | null);
  const v = row[measure];
  if (RATIO_MEASURES.includes(measure as Measure)) return formatPercent(v as number | null);
  return typeof v === 'number' ? formatInt(v) : String(v ?? '—');
}
