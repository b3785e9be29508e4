import { describe, expect, it } from 'vitest';
import { DayPlan, dayProfile, frontloadRamp } from './pacing-plan.ts';
import { TrafficCurve, TrafficCurves } from './traffic-curve.ts';

const H = 3_600_000;

describe('dayProfile: the budget day in the line item zone', () => {
  it('starts at local midnight', () => {
    const p = dayProfile('America/New_York', Date.parse('2030-06-10T03:30:00Z')); // 23:30 on the 9th in New York
    expect(p.day).toBe('2030-06-09');
    expect(new Date(p.startMs).toISOString()).toBe('2030-06-09T04:00:00.000Z');
    expect(p.endMs - p.startMs).toBe(24 * H);
    expect(p.slotHours[0]).toBe(0);
    expect(p.slotHours[95]).toBe(23);
  });

  it('has 23 hours on the spring-forward day and 25 on the fall-back day', () => {
    const spring = dayProfile('America/New_York', Date.parse('2030-03-10T12:00:00Z'));
    expect(spring.endMs - spring.startMs).toBe(23 * H);
    expect(spring.slotHours.includes(2)).toBe(false); // 02:00-03:00 never happens
    const fall = dayProfile('America/New_York', Date.parse('2030-11-03T12:00:00Z'));
    expect(fall.endMs - fall.startMs).toBe(25 * H);
    expect(fall.slotHours.filter((h) => h === 1).length).toBe(8); // 01:00-02:00 twice
  });

  it('handles half-hour offsets (Kolkata) and days ahead of UTC (Auckland)', () => {
    const k = dayProfile('Asia/Kolkata', Date.parse('2030-06-09T20:00:00Z')); // 01:30 on the 10th
    expect(k.day).toBe('2030-06-10');
    expect(new Date(k.startMs).toISOString()).toBe('2030-06-09T18:30:00.000Z');
    const a = dayProfile('Pacific/Auckland', Date.parse('2030-06-09T13:00:00Z'));
    expect(a.day).toBe('2030-06-10');
    expect(new Date(a.startMs).toISOString()).toBe('2030-06-09T12:00:00.000Z');
  });
});

describe('DayPlan', () => {
  const day = dayProfile('UTC', Date.parse('2030-06-10T12:00:00Z'));

  it('even with a flat curve: the share is the share of time', () => {
    const plan = new DayPlan(day, TrafficCurve.flat(), 'even');
    expect(plan.shareBy(day.startMs)).toBe(0);
    expect(plan.shareBy(day.startMs + 6 * H)).toBeCloseTo(0.25, 12);
    expect(plan.share(day.startMs + 6 * H, day.startMs + 7 * H)).toBeCloseTo(1 / 24, 12);
    expect(plan.shareBy(day.endMs)).toBe(1);
  });

  it('even follows the traffic curve', () => {
    const counts = Array.from({ length: 24 }, (_, h) => (h < 12 ? 1 : 3));
    const plan = new DayPlan(day, TrafficCurve.fromHourlyCounts(counts, 0), 'even');
    expect(plan.shareBy(day.startMs + 12 * H)).toBeCloseTo(0.25, 12);
  });

  it('frontloaded plans more early in the day', () => {
    const plan = new DayPlan(day, TrafficCurve.flat(), 'frontloaded');
    expect(plan.shareBy(day.startMs + 12 * H)).toBeCloseTo(0.65, 2);
    expect(frontloadRamp(0)).toBeCloseTo(1.6);
    expect(frontloadRamp(1)).toBeCloseTo(0.4);
  });

  it('plans the whole budget on a 23-hour day', () => {
    const spring = dayProfile('America/New_York', Date.parse('2030-03-10T12:00:00Z'));
    const plan = new DayPlan(spring, TrafficCurve.flat(), 'even');
    expect(plan.shareBy(spring.endMs - 1)).toBeCloseTo(1, 6);
    expect(plan.share(spring.startMs, spring.startMs + H)).toBeCloseTo(1 / 23, 9);
  });
});

describe('TrafficCurve', () => {
  it('normalises counts, keeps a floor for empty hours, refuses bad input', () => {
    const c = TrafficCurve.fromHourlyCounts(Array.from({ length: 24 }, (_, h) => (h === 5 ? 0 : 10)));
    expect(c.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(c.weight(5)).toBeGreaterThan(0);
    expect(c.weight(5)).toBeLessThan(c.weight(6) / 10);
    expect(() => TrafficCurve.fromHourlyCounts([1, 2])).toThrow(RangeError);
    expect(() => TrafficCurve.fromHourlyCounts(Array.from({ length: 24 }, () => -1))).toThrow(RangeError);
    expect(TrafficCurve.fromHourlyCounts(new Array(24).fill(0))).toBe(TrafficCurve.flat());
  });

  it('sums placements, falls back to flat without data', () => {
    const curves = new TrafficCurves();
    expect(curves.curve(['p1'])).toBe(TrafficCurve.flat());
    curves.observe(
      'p1',
      Array.from({ length: 24 }, (_, h) => (h === 0 ? 100 : 0)),
    );
    curves.observe(
      'p2',
      Array.from({ length: 24 }, (_, h) => (h === 12 ? 100 : 0)),
    );
    const both = curves.curve(['p1', 'p2']);
    expect(both.weight(0)).toBeCloseTo(both.weight(12), 12);
    expect(curves.curve(['p1']).weight(0)).toBeGreaterThan(0.9);
  });
});
