import { describe, expect, it } from 'vitest';
import { formatMoney, microsToInput, parseMoney } from './money.ts';

describe('money', () => {
  it('parses decimals into exact integer micros', () => {
    expect(parseMoney('4.50')).toBe(4_500_000);
    expect(parseMoney('0.1')).toBe(100_000);
    expect(parseMoney('.25')).toBe(250_000);
    expect(parseMoney('1,000')).toBe(1_000_000_000);
    expect(parseMoney('0.000001')).toBe(1);
    expect(parseMoney('')).toBeNull();
  });
  it('refuses what is not an amount', () => {
    expect(parseMoney('abc')).toBeUndefined();
    expect(parseMoney('-1')).toBeUndefined();
    expect(parseMoney('1.0000001')).toBeUndefined();
    expect(parseMoney('1e3')).toBeUndefined();
  });
  it('round-trips micros to the input text', () => {
    expect(microsToInput(4_500_000)).toBe('4.50');
    expect(microsToInput(1)).toBe('0.000001');
    expect(microsToInput(null)).toBe('');
    for (const v of [0, 7, 1_234_567, 60_000_000_000]) expect(parseMoney(microsToInput(v))).toBe(v);
  });
  it('formats for display', () => {
    expect(formatMoney(60_000_000_000)).toBe('$60,000.00');
    expect(formatMoney(4_500_000, 'EUR')).toBe('€4.50');
    expect(formatMoney(null)).toBe('—');
    expect(formatMoney(3_974_045_389)).toBe('$3,974.04');
  });
});
