/**
 * Money in the dashboard: the API speaks integer micros (1 unit = 1,000,000); people type decimals.
 * Parsing is done on the digits, never through floating point, so "0.1" is exactly 100000 micros.
 */
const MICROS = 1_000_000n;

/** "4.50" -> 4500000; "" -> null; anything that is not a plain non-negative amount -> undefined (invalid). */
export function parseMoney(input: string): number | null | undefined {
  const s = input.trim().replace(/,/g, '');
  if (s === '') return null;
  const m = /^(\d{1,12})(?:\.(\d{0,6}))?$/.exec(s) ?? /^()\.(\d{1,6})$/.exec(s);
  if (!m) return undefined;
  const units = BigInt(m[1] || '0');
  const fraction = BigInt((m[2] ?? '').padEnd(6, '0') || '0');
  return Number(units * MICROS + fraction);
}

/** 4500000 -> "4.50" (at least two decimals, up to six when needed). */
export function microsToInput(micros: number | null | undefined): string {
  if (micros === null || micros === undefined) return '';
  const v = BigInt(micros);
  const sign = v < 0n ? '-' : '';
  const abs = v < 0n ? -v : v;
  const units = abs / MICROS;
  let fraction = (abs % MICROS).toString().padStart(6, '0').replace(/0+$/, '');
  if (fraction.length < 2) fraction = fraction.padEnd(2, '0');
  return `${sign}${units}.${fraction}`;
}

/** 4500000, "USD" -> "$4.50" for display (cents). */
export function formatMoney(micros: number | null | undefined, currency = 'USD'): string {
  if (micros === null || micros === undefined) return '—';
  const text = microsToInput(micros);
  const [units = '0', fraction = '00'] = text.replace('-', '').split('.');
  const grouped = units.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const symbol = currency === 'USD' ? '$' : currency === 'EUR' ? '€' : currency === 'GBP' ? '£' : `${currency} `;
  // Display in cents (truncated, never rounded up); forms show every micro.
  return `${micros < 0 ? '-' : ''}${symbol}${grouped}.${fraction.slice(0, 2)}`;
}

export function formatInt(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return Math.round(n).toLocaleString('en-US');
}

export function formatPercent(ratio: number | null | undefined, digits = 2): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—';
  return `${(ratio * 100).toFixed(digits)}%`;
}
