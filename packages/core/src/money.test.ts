import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addMicros, cpmToImpressionMicros, formatMicros, isMicros, mulDiv, parseMicros } from './money.ts';

describe('money', () => {
  it('parses decimal strings exactly', () => {
    expect(parseMicros('1')).toBe(1_000_000);
    expect(parseMicros('0.000001')).toBe(1);
    expect(parseMicros('12.5')).toBe(12_500_000);
    expect(parseMicros('-3.25')).toBe(-3_250_000);
    expect(parseMicros('0.1')).toBe(100_000); // no float drift: 0.1 * 1e6 is not computed
  });

  it('refuses what is not an exact amount', () => {
    for (const bad of ['', 'abc', '1.0000001', '1e5', '12345678901.0', '1,5', '.5', 'NaN']) {
      expect(parseMicros(bad)).toBeUndefined();
    }
  });

  it('formats and parses back without loss', () => {
    fc.assert(
      fc.property(fc.integer({ min: -9_999_999_999_999, max: 9_999_999_999_999 }), (m) => {
        expect(parseMicros(formatMicros(m))).toBe(m);
      }),
    );
  });

  it('mulDiv is exact past 2^53 intermediates', () => {
    // 9e15 * 1000 would lose precision as a float product
    expect(mulDiv(9_000_000_000_000_001, 1000, 1000)).toBe(9_000_000_000_000_001);
    expect(mulDiv(7, 3, 2)).toBe(10); // rounds down
    expect(() => mulDiv(1, 1, 0)).toThrow(RangeError);
    expect(() => mulDiv(Number.MAX_SAFE_INTEGER, 2, 1)).toThrow(RangeError);
  });

  it('prices one impression at a CPM rate, rounding down', () => {
    expect(cpmToImpressionMicros(2_500_000)).toBe(2_500);
    expect(cpmToImpressionMicros(999)).toBe(0);
  });

  it('guards sums and recognises micros', () => {
    expect(addMicros(1, 2)).toBe(3);
    expect(() => addMicros(Number.MAX_SAFE_INTEGER, 1)).toThrow(RangeError);
    expect(isMicros(1.5)).toBe(false);
    expect(isMicros(Number.NaN)).toBe(false);
    expect(isMicros(42)).toBe(true);
  });
});
