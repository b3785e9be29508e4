import { describe, expect, it } from 'vitest';
import { monthRange } from './month-range.ts';

describe('monthRange', () => {
  it('gives local days and the instants of local midnight, across DST and years', () => {
    expect(monthRange('2026-03', 'UTC')).toEqual({
      month: '2026-03',
      fromDay: '2026-03-01',
      toDay: '2026-03-31',
      fromMs: Date.UTC(2026, 2, 1),
      toMs: Date.UTC(2026, 3, 1),
    });
    // Paris: UTC+1 on 1 March, UTC+2 on 1 April (DST began on 29 March).
    const paris = monthRange('2026-03', 'Europe/Paris');
    expect(paris.fromMs).toBe(Date.UTC(2026, 1, 28, 23));
    expect(paris.toMs).toBe(Date.UTC(2026, 2, 31, 22));
    const ny = monthRange('2025-12', 'America/New_York');
    expect(ny.toDay).toBe('2025-12-31');
    expect(ny.toMs).toBe(Date.UTC(2026, 0, 1, 5));
    expect(monthRange('2028-02', 'Asia/Kolkata').toDay).toBe('2028-02-29');
    expect(monthRange('2028-02', 'Asia/Kolkata').fromMs).toBe(Date.UTC(2028, 0, 31, 18, 30));
  });
});
