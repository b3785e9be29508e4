/**
 * Money is integer micros (1 unit of currency = 1,000,000 micros), never floats.
 * A JavaScript number holds integers exactly up to 2^53 (about 9 billion units in micros),
 * which is the bound every amount is validated against.
 */
export type Micros = number;

export const MICROS_PER_UNIT = 1_000_000;
/** The largest amount accepted anywhere: 9,007,199,254 units of currency. */
export const MAX_MICROS = Number.MAX_SAFE_INTEGER;

export function isMicros(value: unknown): value is Micros {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Parses a decimal string such as "12.345678" into micros; returns undefined when it is not exact. */
export function parseMicros(text: string): Micros | undefined {
  const m = /^(-?)(\d{1,10})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) return undefined;
  const units = Number(m[2]);
  const frac = Number((m[3] ?? '').padEnd(6, '0'));
  const value = units * MICROS_PER_UNIT + frac;
  if (!Number.isSafeInteger(value)) return undefined;
  return m[1] === '-' ? -value : value;
}

/** Formats micros as a fixed 6-decimal string without rounding ("1.500000"). */
export function formatMicros(micros: Micros, decimals = 6): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const units = Math.floor(abs / MICROS_PER_UNIT);
  const frac = String(abs % MICROS_PER_UNIT)
    .padStart(6, '0')
    .slice(0, decimals);
  return decimals > 0 ? `${sign}${units}.${frac}` : `${sign}${units}`;
}

/**
 * a * b / c with exact integer arithmetic, rounded down (towards zero).
 * Used for CPM pricing (rate * impressions / 1000) and revenue shares, where a * b can pass 2^53.
 */
export function mulDiv(a: Micros, b: number, c: number): Micros {
  if (c === 0) throw new RangeError('mulDiv: division by zero');
  const r = (BigInt(a) * BigInt(b)) / BigInt(c);
  const n = Number(r);
  if (!Number.isSafeInteger(n)) throw new RangeError('mulDiv: result out of range');
  return n;
}

/** The price of one impression at a CPM rate, in micros (rate per thousand / 1000), rounded down. */
export function cpmToImpressionMicros(cpmMicros: Micros): Micros {
  return Math.floor(cpmMicros / 1000);
}

/** Adds amounts and throws on overflow past the safe-integer range (a bug, not user input). */
export function addMicros(a: Micros, b: Micros): Micros {
  const r = a + b;
  if (!Number.isSafeInteger(r)) throw new RangeError('addMicros: result out of range');
  return r;
}

/** ISO 4217 currency codes this network accepts; amounts in different currencies never mix. */
export const CURRENCY_PATTERN = '^[A-Z]{3}$';
