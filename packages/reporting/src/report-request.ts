/**
 * The reporting API's parameters: parsed and validated into a ReportRequest (pure, no I/O), then
 * narrowed to what the caller's role may see (restrictToViewer). Every problem is reported at once,
 * with the list of valid values, so a bad query is a clear 400 (or 403 for a role's limits).
 */
import type { RollupDimension, RollupEntityDimension } from '@marquee/store';

export const BASE_MEASURES = [
  'requests',
  'impressions',
  'viewable_impressions',
  'clicks',
  'conversions',
  'custom_events',
  'spend',
  'revenue',
  'invalid_events',
] as const;
/** Ratios computed from the summed measures of each row (never averages of ratios). */
export const DERIVED_MEASURES = ['ctr', 'cvr', 'ecpm', 'revenue_ecpm', 'fill_rate', 'viewability', 'ivt_rate'] as const;
export const MEASURES = [...BASE_MEASURES, ...DERIVED_MEASURES] as const;
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
  'reason',
] as const satisfies readonly RollupDimension[];
export type Dimension = (typeof DIMENSIONS)[number];
export const TIME_DIMENSIONS: readonly Dimension[] = ['hour', 'day', 'week', 'month'];
export const FILTER_DIMENSIONS = [
  'advertiser',
  'campaign',
  'line_item',
  'creative',
  'publisher',
  'site',
  'placement',
  'country',
  'device',
] as const satisfies readonly RollupEntityDimension[];

export const MAX_RANGE_DAYS = 366;
/** Hourly rows over a long range are a lot of rows: at most 31 days with the hour dimension. */
export const MAX_HOURLY_RANGE_DAYS = 31;
export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 1_000;

export interface ReportRequest {
  readonly measures: readonly Measure[];
  readonly dimensions: readonly Dimension[];
  readonly from: string;
  readonly to: string;
  readonly timeZone: string;
  readonly filters: Readonly<Partial<Record<RollupEntityDimension, readonly string[]>>>;
  readonly format: 'json' | 'csv';
  /** A requested measure or dimension; descending when `desc`. */
  readonly sort: { readonly key: string; readonly desc: boolean } | null;
  readonly limit: number;
}

export interface ReportProblem {
  readonly path: string;
  readonly message: string;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly ReportProblem[] };

export type RawReportQuery = Readonly<Record<string, string | undefined>>;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const FILTER_VALUE_RE = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Days since the epoch of a valid calendar date "YYYY-MM-DD", else undefined. */
export function dayNumber(text: string): number | undefined {
  const m = DATE_RE.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (y < 2000 || back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    return undefined;
  }
  return ms / 86_400_000;
}

/** An IANA zone name Intl knows (PostgreSQL knows the same tz database names). */
export function isTimeZone(zone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function list(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Parses the query string of GET /reports. `defaults.timeZone` is the network's zone; `today` the
 * current date there (the default range is the last 7 days up to today).
 */
export function parseReportQuery(
  query: RawReportQuery,
  defaults: { readonly timeZone: string; readonly today: string },
): Parsed<ReportRequest> {
  const problems: ReportProblem[] = [];
  const bad = (path: string, message: string) => problems.push({ path, message });

  const measures: Measure[] = [];
  const measureNames = list(query['measures'] ?? 'impressions,clicks,spend');
  if (measureNames.length === 0) bad('measures', `name at least one of: ${MEASURES.join(', ')}`);
  for (const m of measureNames) {
    if (!(MEASURES as readonly string[]).includes(m)) {
      bad('measures', `unknown measure "${m}"; valid measures: ${MEASURES.join(', ')}`);
    } else if (measures.includes(m as Measure)) bad('measures', `measure "${m}" is listed twice`);
    else measures.push(m as Measure);
  }

  const dimensions: Dimension[] = [];
  for (const d of list(query['dimensions'])) {
    if (!(DIMENSIONS as readonly string[]).includes(d)) {
      bad('dimensions', `unknown dimension "${d}"; valid dimensions: ${DIMENSIONS.join(', ')}`);
    } else if (dimensions.includes(d as Dimension)) bad('dimensions', `dimension "${d}" is listed twice`);
    else dimensions.push(d as Dimension);
  }
  if (dimensions.filter((d) => TIME_DIMENSIONS.includes(d)).length > 1) {
    bad('dimensions', 'use at most one of hour, day, week, month');
  }
  if (dimensions.includes('reason') && measures.some((m) => m !== 'invalid_events')) {
    bad('dimensions', 'the reason dimension goes with the invalid_events measure only');
  }

  const timeZone = query['timeZone'] ?? defaults.timeZone;
  if (!isTimeZone(timeZone)) bad('timeZone', `"${timeZone}" is not an IANA time zone (e.g. Europe/Paris, UTC)`);

  const toText = query['to'] ?? query['from'] ?? defaults.today;
  const to = dayNumber(toText);
  if (to === undefined) bad('to', `"${toText}" is not a date (YYYY-MM-DD, year 2000 or later)`);
  const fromText = query['from'] ?? (to !== undefined ? dayString(to - 6) : defaults.today);
  const from = dayNumber(fromText);
  if (from === undefined) bad('from', `"${fromText}" is not a date (YYYY-MM-DD, year 2000 or later)`);
  if (from !== undefined && to !== undefined) {
    const days = to - from + 1;
    const max = dimensions.includes('hour') ? MAX_HOURLY_RANGE_DAYS : MAX_RANGE_DAYS;
    if (days < 1) bad('to', 'to must not be before from');
    else if (days > max) {
      bad('from', `the range is ${days} days; at most ${max}${max === MAX_HOURLY_RANGE_DAYS ? ' by hour' : ''}`);
    }
  }

  const filters: Partial<Record<RollupEntityDimension, string[]>> = {};
  for (const clause of list(query['filters'])) {
    const colon = clause.indexOf(':');
    const dim = colon > 0 ? clause.slice(0, colon) : clause;
    if (!(FILTER_DIMENSIONS as readonly string[]).includes(dim)) {
      bad('filters', `"${clause}": filter on one of ${FILTER_DIMENSIONS.join(', ')} as dimension:value|value`);
      continue;
    }
    const values = colon > 0 ? clause.slice(colon + 1).split('|') : [];
    if (values.length === 0 || values.length > 1000 || values.some((v) => !FILTER_VALUE_RE.test(v))) {
      bad('filters', `"${clause}": give 1 to 1000 values separated by |, each 1-100 of A-Z a-z 0-9 _ . : -`);
      continue;
    }
    const key = dim as RollupEntityDimension;
    if (filters[key]) bad('filters', `filter on ${dim} is given twice`);
    else filters[key] = values;
  }

  const format = query['format'] ?? 'json';
  if (format !== 'json' && format !== 'csv') bad('format', 'format is json or csv');

  let sort: ReportRequest['sort'] = null;
  const sortText = query['sort'];
  if (sortText !== undefined && sortText !== '') {
    const desc = sortText.startsWith('-');
    const key = desc ? sortText.slice(1) : sortText;
    if (!(measures as string[]).includes(key) && !(dimensions as string[]).includes(key)) {
      bad('sort', `sort by one of the requested measures or dimensions (prefix - for descending): "${sortText}"`);
    } else sort = { key, desc };
  }

  let limit = DEFAULT_LIMIT;
  if (query['limit'] !== undefined) {
    limit = Number(query['limit']);
    if (!/^\d{1,6}$/.test(query['limit']) || limit < 1 || limit > MAX_LIMIT) {
      bad('limit', `limit is an integer from 1 to ${MAX_LIMIT}`);
    }
  }

  const known = new Set(['measures', 'dimensions', 'from', 'to', 'timeZone', 'filters', 'format', 'sort', 'limit']);
  for (const key of Object.keys(query)) {
    if (!known.has(key)) bad(key, `unknown parameter; valid: ${[...known].join(', ')}`);
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      measures,
      dimensions,
      from: fromText,
      to: toText,
      timeZone,
      filters,
      format,
      sort,
      limit,
    } as ReportRequest,
  };
}

export function dayString(dayNum: number): string {
  return new Date(dayNum * 86_400_000).toISOString().slice(0, 10);
}

/** Who reads the report, and which tenants. */
export type ReportViewer =
  | { readonly side: 'network' }
  | { readonly side: 'advertiser'; readonly advertiserIds: readonly string[] }
  | { readonly side: 'publisher'; readonly publisherIds: readonly string[] };

/**
 * What each side may see. Advertisers: their own rows (filter advertiser ∈ theirs), everything but the
 * publisher's revenue. Publishers: their own rows (publisher ∈ theirs), revenue but not the advertiser's
 * spend (nor eCPM, which is spend per mille), and not the advertisers' internal structure (campaign,
 * line item, creative); which advertiser ran is visible. A filter cannot widen the scope: it is
 * intersected with it (an empty intersection is an empty report).
 */
export const HIDDEN_FROM: Record<'advertiser' | 'publisher', { measures: Measure[]; dimensions: Dimension[] }> = {
  advertiser: { measures: ['revenue', 'revenue_ecpm'], dimensions: [] },
  publisher: { measures: ['spend', 'ecpm'], dimensions: ['campaign', 'line_item', 'creative'] },
};

export function restrictToViewer(request: ReportRequest, viewer: ReportViewer): Parsed<ReportRequest> {
  if (viewer.side === 'network') return { ok: true, value: request };
  const hidden = HIDDEN_FROM[viewer.side];
  const problems: ReportProblem[] = [];
  for (const m of request.measures) {
    if (hidden.measures.includes(m)) problems.push({ path: 'measures', message: `${viewer.side}s cannot see ${m}` });
  }
  for (const d of request.dimensions) {
    if (hidden.dimensions.includes(d)) {
      problems.push({ path: 'dimensions', message: `${viewer.side}s cannot break down by ${d}` });
    }
  }
  for (const d of Object.keys(request.filters) as RollupEntityDimension[]) {
    if ((hidden.dimensions as string[]).includes(d)) {
      problems.push({ path: 'filters', message: `${viewer.side}s cannot filter on ${d}` });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const dim = viewer.side === 'advertiser' ? 'advertiser' : 'publisher';
  const own = viewer.side === 'advertiser' ? viewer.advertiserIds : viewer.publisherIds;
  const asked = request.filters[dim];
  const allowed = asked ? asked.filter((id) => own.includes(id)) : [...own];
  return { ok: true, value: { ...request, filters: { ...request.filters, [dim]: allowed } } };
}
