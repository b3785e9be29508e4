/**
 * Billing helpers for the billing screen: months, signed amounts typed by people, what a balance means in words,
 * and idempotency keys for the admin's postings (a retried click posts once).
 */
import type { BillingAccount } from './api.ts';
import { formatMoney, parseMoney } from './money.ts';

/** "2026-11" for a date (UTC; the server reads the month in the network's time zone). */
export function monthOf(d: Date): string {
  return d.toISOString().slice(0, 7);
}

/** "-12.50" -> -12500000, "12.50" -> 12500000; "" -> null; not an amount -> undefined. Integer micros, no floats. */
export function parseSignedMoney(input: string): number | null | undefined {
  const s = input.trim();
  const negative = s.startsWith('-');
  const micros = parseMoney(negative || s.startsWith('+') ? s.slice(1) : s);
  if (micros === null || micros === undefined) return micros;
  return negative ? -micros : micros;
}

/**
 * A balance in words. The ledger's sign: > 0 is owed to the network, < 0 is owed by it (an advertiser's prepaid
 * funds left, a publisher's earnings not paid out yet).
 */
export function balanceMeaning(a: Pick<BillingAccount, 'kind' | 'balanceMicros' | 'currency'>): string {
  const amount = formatMoney(Math.abs(a.balanceMicros), a.currency);
  if (a.balanceMicros === 0) return 'settled';
  if (a.kind === 'advertiser') return a.balanceMicros > 0 ? `owes ${amount}` : `${amount} prepaid left`;
  if (a.kind === 'publisher') return a.balanceMicros < 0 ? `${amount} earned, not paid out` : `${amount} paid ahead`;
  return '—';
}

/** A key the server accepts (`^[A-Za-z0-9_.:-]{1,100}$`); randomUUID needs a secure context, so there is a fallback. */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function' && globalThis.isSecureContext !== false) return `ui:${c.randomUUID()}`;
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return `ui:${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
