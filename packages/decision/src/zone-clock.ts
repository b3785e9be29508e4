/**
 * Local wall-clock time of an IANA zone, without calling Intl on the hot path.
 *
 * Every UTC offset in the tz database is a multiple of 15 minutes, and transitions happen on those
 * boundaries, so the local weekday, hour and date are constant within a 15-minute UTC slot. Each
 * clock asks Intl once per slot and answers every other call from the cached slot.
 */
const SLOT_MS = 15 * 60_000;

export class ZoneClock {
  readonly zone: string;
  private readonly fmt: Intl.DateTimeFormat;
  private slot = Number.NaN;
  private how = 0;
  private day = '';
  private hKey = '';
  private wKey = '';

  constructor(zone: string) {
    this.zone = zone;
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
  }

  private refresh(nowMs: number): void {
    const slot = Math.floor(nowMs / SLOT_MS);
    if (slot === this.slot) return;
    let y = 0;
    let mo = 0;
    let d = 0;
    let h = 0;
    for (const p of this.fmt.formatToParts(slot * SLOT_MS)) {
      if (p.type === 'year') y = Number(p.value);
      else if (p.type === 'month') mo = Number(p.value);
      else if (p.type === 'day') d = Number(p.value);
      else if (p.type === 'hour') h = Number(p.value) % 24;
    }
    const weekday = new Date(Date.UTC(y, mo - 1, d)).getUTCDay();
    this.slot = slot;
    this.how = weekday * 24 + h;
    this.day = `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    this.hKey = `${this.zone}|${h}`;
    this.wKey = `${this.zone}|${weekday}`;
  }

  /** weekday (0 = Sunday) * 24 + hour, in this zone. */
  hourOfWeek(nowMs: number): number {
    this.refresh(nowMs);
    return this.how;
  }
  hour(nowMs: number): number {
    this.refresh(nowMs);
    return this.how % 24;
  }
  weekday(nowMs: number): number {
    this.refresh(nowMs);
    return Math.floor(this.how / 24);
  }
  /** The local calendar date, "YYYY-MM-DD": the key of daily budgets. */
  localDay(nowMs: number): string {
    this.refresh(nowMs);
    return this.day;
  }
  /** Targeting values of the hour and weekday dimensions, qualified by zone ("Europe/Paris|14"). */
  hourKey(nowMs: number): string {
    this.refresh(nowMs);
    return this.hKey;
  }
  weekdayKey(nowMs: number): string {
    this.refresh(nowMs);
    return this.wKey;
  }
}

const clocks = new Map<string, ZoneClock>();

/** The shared clock of a zone; an unknown zone falls back to UTC (zones are validated on write). */
export function zoneClock(zone: string): ZoneClock {
  let c = clocks.get(zone);
  if (!c) {
    try {
      c = new ZoneClock(zone);
    } catch {
      c = zone === 'UTC' ? new ZoneClock('UTC') : zoneClock('UTC');
    }
    clocks.set(zone, c);
  }
  return c;
}

/** The targeting value of an hour or weekday predicate, qualified by the line item's zone. */
export function zonedValue(zone: string, value: string | number): string {
  return `${zone}|${value}`;
}
