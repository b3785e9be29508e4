/**
 * Turns summed rollup groups into the report: derived rates computed from each row's sums, money as
 * integer micros beside a decimal string, entity names next to ids, sort, limit, totals; and CSV.
 * Pure: names come in as a lookup.
 */
import { formatMicros, mulDiv } from '@marquee/core';
import type { RollupGroup, RollupMeasures } from '@marquee/store';
import type { Dimension, Measure, ReportRequest } from './report-request.ts';

export type Cell = string | number | null;
export type ReportRow = Record<string, Cell>;

export interface Report {
  readonly columns: readonly string[];
  readonly rows: readonly ReportRow[];
  /** The measures over every row of the range and filters (not just the rows returned). */
  readonly totals: ReportRow;
  /** More rows matched than `limit` (or than the server's row cap). */
  readonly truncated: boolean;
}

/** Dimensions whose values are entity ids, shown with the entity's name. */
export const NAMED_DIMENSIONS: readonly Dimension[] = [
  'advertiser',
  'campaign',
  'line_item',
  'creative',
  'publisher',
  'site',
  'placement',
];
const MONEY: readonly Measure[] = ['spend', 'revenue', 'ecpm', 'revenue_ecpm'];

export type NameOf = (dimension: Dimension, id: string) => string | undefined;

/** Column names of a request: dimensions (+ `<dim>_name`), then measures (money: `<m>_micros` and `<m>`). */
export function reportColumns(request: Pick<ReportRequest, 'dimensions' | 'measures'>): string[] {
  const columns: string[] = [];
  for (const d of request.dimensions) {
    columns.push(d);
    if (NAMED_DIMENSIONS.includes(d)) columns.push(`${d}_name`);
  }
  for (const m of request.measures) {
    if (MONEY.includes(m)) columns.push(`${m}_micros`, m);
    else columns.push(m);
  }
  return columns;
}

const ratio = (num: number, den: number): number | null => (den > 0 ? Math.round((num / den) * 1e6) / 1e6 : null);
const perMille = (micros: number, impressions: number): number | null =>
  impressions > 0 ? mulDiv(micros, 1000, impressions) : null;

/** One measure of summed values: a count, micros (money, rounded down) or a ratio (6 decimals); null on /0. */
export function measureValue(m: Measure, s: RollupMeasures): number | null {
  switch (m) {
    case 'requests':
      return s.requests;
    case 'impressions':
      return s.impressions;
    case 'viewable_impressions':
      return s.viewableImpressions;
    case 'clicks':
      return s.clicks;
    case 'conversions':
      return s.conversions;
    case 'custom_events':
      return s.customEvents;
    case 'spend':
      return s.spendMicros;
    case 'revenue':
      return s.revenueMicros;
    case 'invalid_events':
      return s.invalidEvents;
    case 'ctr':
      return ratio(s.clicks, s.impressions);
    case 'cvr':
      return ratio(s.conversions, s.clicks);
    case 'ecpm':
      return perMille(s.spendMicros, s.impressions);
    case 'revenue_ecpm':
      return perMille(s.revenueMicros, s.impressions);
    case 'fill_rate':
      return ratio(s.impressions, s.requests);
    case 'viewability':
      return ratio(s.viewableImpressions, s.impressions);
    case 'ivt_rate':
      return ratio(s.invalidEvents, s.events + s.invalidEvents);
  }
}

function measureCells(row: ReportRow, measures: readonly Measure[], s: RollupMeasures): void {
  for (const m of measures) {
    const v = measureValue(m, s);
    if (MONEY.includes(m)) {
      row[`${m}_micros`] = v;
      row[m] = v === null ? null : formatMicros(v);
    } else row[m] = v;
  }
}

export function buildReport(
  request: Pick<ReportRequest, 'dimensions' | 'measures' | 'sort' | 'limit'>,
  groups: readonly RollupGroup[],
  totals: RollupMeasures,
  nameOf: NameOf,
  capped = false,
): Report {
  const rows: ReportRow[] = groups.map((g) => {
    const row: ReportRow = {};
    for (const d of request.dimensions) {
      const id = g.keys[d] ?? '';
      row[d] = id;
      if (NAMED_DIMENSIONS.includes(d)) row[`${d}_name`] = id === '' ? null : (nameOf(d, id) ?? null);
    }
    measureCells(row, request.measures, g.measures);
    return row;
  });
  if (request.sort) {
    const { key, desc } = request.sort;
    const col = MONEY.includes(key as Measure) ? `${key}_micros` : key;
    const dir = desc ? -1 : 1;
    rows.sort((a, b) => dir * compareCells(a[col] ?? null, b[col] ?? null));
  }
  const totalRow: ReportRow = {};
  measureCells(totalRow, request.measures, totals);
  return {
    columns: reportColumns(request),
    rows: rows.slice(0, request.limit),
    totals: totalRow,
    truncated: capped || rows.length > request.limit,
  };
}

/** Nulls last; numbers numerically; strings by code point (stable across locales). */
function compareCells(a: Cell, b: Cell): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : 1;
}

/**
 * RFC 4180 CSV with a header row and CRLF line ends. Text cells that a spreadsheet would run as a
 * formula (starting with = + - @ or a tab/CR) get a leading apostrophe: names are user input.
 */
export function toCsv(report: Report, totalsLabel = 'Total'): string {
  const lines = [report.columns.map(csvCell).join(',')];
  for (const row of report.rows) lines.push(report.columns.map((c) => csvCell(row[c] ?? null)).join(','));
  const firstMeasure = report.columns.findIndex((c) => c in report.totals);
  const totals = report.columns.map((c, i) => {
    if (c in report.totals) return csvCell(report.totals[c] ?? null);
    return i === 0 && firstMeasure !== 0 ? csvCell(totalsLabel) : '';
  });
  lines.push(totals.join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function csvCell(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  let text = value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
