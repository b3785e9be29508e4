import { describe, expect, it } from 'vitest';
import { balanceMeaning, monthOf, newIdempotencyKey, parseSignedMoney } from './billing.ts';

describe('billing helpers', () => {
  it('reads signed amounts as exact micros', () => {
    expect(parseSignedMoney('-12.50')).toBe(-12_500_000);
    expect(parseSignedMoney('+0.1')).toBe(100_000);
    expect(parseSignedMoney('1,250')).toBe(1_250_000_000);
    expect(parseSignedMoney('')).toBeNull();
    expect(parseSignedMoney('--1')).toBeUndefined();
    expect(parseSignedMoney('1e3')).toBeUndefined();
  });

  it('says what a balance means for each side', () => {
    expect(balanceMeaning({ kind: 'advertiser', balanceMicros: 2_000_000, currency: 'USD' })).toBe('owes $2.00');
    expect(balanceMeaning({ kind: 'advertiser', balanceMicros: -500_000, currency: 'USD' })).toBe('$0.50 prepaid left');
    expect(balanceMeaning({ kind: 'publisher', balanceMicros: -7_000_000, currency: 'EUR' })).toBe(
      '€7.00 earned, not paid out',
    );
    expect(balanceMeaning({ kind: 'cash', balanceMicros: 0, currency: 'USD' })).toBe('settled');
  });

  it('gives months and keys the server accepts', () => {
    expect(monthOf(new Date(Date.UTC(2026, 0, 31, 23)))).toBe('2026-01');
    const a = newIdempotencyKey();
    expect(a).toMatch(/^[A-Za-z0-9_.:-]{1,100}$/);
    expect(newIdempotencyKey()).not.toBe(a);
  });
});
