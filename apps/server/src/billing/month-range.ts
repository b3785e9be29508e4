/**
 * A calendar month in a time zone as local days (for the rollup queries) and as instants (for ledger
 * entries posted in it), daylight saving included.
 */
export interface MonthRange {
  readonly month: string;
  readonly fromDay: string;
  readonly toDay: string;
  /** Local midnight starting the month and the next, epoch ms (half-open). */
  readonly fromMs: number;
  readonly toMs: number;
}

export const MONTH_PATTERN = '^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$'; // 1970-01 to 2999-12: instants PostgreSQL and Date both hold

/** Offset of `zone` from UTC at instant `ms`, in ms (positive east of Greenwich). */
function offsetMs(zone: string, ms: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(ms);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return local - Math.floor(ms / 1000) * 1000;
}

/** The instant of local midnight starting y-m-d in `zone`. */
export function localMidnight(zone: string, y: number, m: number, d: number): number {
  const wall = Date.UTC(y, m - 1, d);
  // Two passes: the offset at the guess, then at the corrected instant (DST changes near midnight).
  let t = wall - offsetMs(zone, wall);
  t = wall - offsetMs(zone, t);
  return t;
}

export function monthRange(month: string, zone: string): MonthRange {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const lastDay = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const next = m === 12 ? [y + 1, 1] : [y, m + 1];
  return {
    month,
    fromDay: `${month}-01`,
    toDay: `${month}-${String(lastDay).padStart(2, '0')}`,
    fromMs: localMidnight(zone, y, m, 1),
    toMs: localMidnight(zone, next[0]!, next[1]!, 1),
  };
}
