/**
 * The plan of a budget day: what share of the day's budget should be spent between two instants.
 *
 * A budget day is a calendar day in the line item's time zone: 24 hours usually, 23 or 25 on
 * daylight-saving days. The plan integrates a spend density over real time: the traffic curve's
 * weight of each local hour, times, for frontloaded pacing, a ramp that falls over the day.
 * Shares are normalised over the day actually lived, so a 23-hour day still plans the whole budget.
 */
import type { LineItem } from '@marquee/core';
import type { TrafficCurve } from './traffic-curve.ts';

export type PacingMode = LineItem['pacing'];

const SLOT_MS = 15 * 60_000; // every tz offset and transition is a multiple of 15 minutes

/** A local day in real time: its 15-minute slots and the local hour of each. */
export interface DayProfile {
  readonly zone: string;
  readonly day: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Local hour of each 15-minute slot from startMs. */
  readonly slotHours: Uint8Array;
}

interface LocalParts {
  readonly y: number;
  readonly mo: number;
  readonly d: number;
  readonly h: number;
  readonly mi: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();
function localParts(zone: string, ms: number): LocalParts {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formats.set(zone, f);
  }
  const p = { y: 0, mo: 0, d: 0, h: 0, mi: 0 };
  for (const x of f.formatToParts(ms)) {
    if (x.type === 'year') p.y = Number(x.value);
    else if (x.type === 'month') p.mo = Number(x.value);
    else if (x.type === 'day') p.d = Number(x.value);
    else if (x.type === 'hour') p.h = Number(x.value) % 24;
    else if (x.type === 'minute') p.mi = Number(x.value);
  }
  return p;
}

/** The zone's UTC offset at an instant, in ms (local = utc + offset). */
function offsetAt(zone: string, ms: number): number {
  const at = Math.floor(ms / 60_000) * 60_000;
  const p = localParts(zone, at);
  return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi) - at;
}

/** The UTC instant of local midnight starting the local date y-mo-d. */
function localMidnight(zone: string, y: number, mo: number, d: number): number {
  const naive = Date.UTC(y, mo - 1, d);
  let t = naive - offsetAt(zone, naive);
  t = naive - offsetAt(zone, t); // the offset at the answer, not at the guess
  return t;
}

const profiles = new Map<string, DayProfile>();

/** The local day containing `nowMs` in `zone` (cached per zone and day). */
export function dayProfile(zone: string, nowMs: number): DayProfile {
  const p = localParts(zone, nowMs);
  const day = `${String(p.y).padStart(4, '0')}-${String(p.mo).padStart(2, '0')}-${String(p.d).padStart(2, '0')}`;
  const key = `${zone}|${day}`;
  const hit = profiles.get(key);
  if (hit) return hit;
  const startMs = localMidnight(zone, p.y, p.mo, p.d);
  const next = new Date(Date.UTC(p.y, p.mo - 1, p.d + 1));
  const endMs = localMidnight(zone, next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate());
  const slots = Math.round((endMs - startMs) / SLOT_MS);
  const slotHours = new Uint8Array(slots);
  for (let i = 0; i < slots; i++) slotHours[i] = localParts(zone, startMs + i * SLOT_MS).h;
  const profile: DayProfile = { zone, day, startMs, endMs, slotHours };
  if (profiles.size > 10_000) profiles.clear();
  profiles.set(key, profile);
  return profile;
}

/**
 * Frontloaded pacing's ramp: the density is multiplied by 1.6 at the start of the day falling
 * linearly to 0.4 at its end, so 65% of the (traffic-weighted) budget is planned for the
 * first half of a flat day, against 50% for even.
 */
export function frontloadRamp(dayFraction: number): number {
  return 1.6 - 1.2 * dayFraction;
}

/** A day plan: the share of the day's budget planned between two instants. */
export class DayPlan {
  /** Cumulative planned share at each slot boundary (length slots + 1, last = 1). */
  private readonly cumulative: Float64Array;

  constructor(
    readonly profile: DayProfile,
    curve: TrafficCurve,
    readonly mode: PacingMode,
  ) {
    const n = profile.slotHours.length;
    const c = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      let w = curve.weight(profile.slotHours[i]!);
      if (mode === 'frontloaded') w *= frontloadRamp((i + 0.5) / n);
      c[i + 1] = c[i]! + w;
    }
    const total = c[n]!;
    for (let i = 0; i <= n; i++) c[i] = total > 0 ? c[i]! / total : i / n;
    this.cumulative = c;
  }

  /** The planned share of the day's budget spent by `ms` (0 at the start of the day, 1 at its end). */
  shareBy(ms: number): number {
    const { startMs, endMs } = this.profile;
    if (ms <= startMs) return 0;
    if (ms >= endMs) return 1;
    const x = (ms - startMs) / SLOT_MS;
    const i = Math.floor(x);
    const c = this.cumulative;
    return c[i]! + (c[i + 1]! - c[i]!) * (x - i);
  }

  /** The planned share between two instants. */
  share(fromMs: number, toMs: number): number {
    return this.shareBy(toMs) - this.shareBy(fromMs);
  }
}
