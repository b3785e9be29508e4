import { mulberry32 } from '@marquee/decision';
import { describe, expect, it } from 'vitest';
import { PacingController, type PacingInput } from './pacing-controller.ts';
import { DayPlan, dayProfile } from './pacing-plan.ts';
import { TrafficCurve } from './traffic-curve.ts';

const MIN = 60_000;
const day = dayProfile('Europe/Paris', Date.parse('2030-06-10T12:00:00Z'));
const COUNTS = [2, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 11, 12, 11, 10, 10, 10, 11, 12, 14, 15, 13, 8, 4];
const curve = TrafficCurve.fromHourlyCounts(COUNTS);
const BUDGET = 100_000_000;

/**
 * Synthetic traffic: what the line item would spend in a minute at rate 1 follows the curve times
 * `scale`, with Poisson-like noise; it spends `rate` of that.
 */
function runDay(scale: number, mode: PacingInput['mode'], seed = 1) {
  const c = new PacingController();
  const rng = mulberry32(seed);
  let spent = 0;
  const hourly = new Array<number>(24).fill(0);
  const rates: number[] = [];
  const statuses = new Set<string>();
  for (let t = day.startMs; t < day.endMs; t += MIN) {
    const v = c.update(
      { lineItemId: 'li', mode, zone: 'Europe/Paris', curve, dailyTargetMicros: BUDGET, spentTodayMicros: spent },
      t,
    );
    statuses.add(v.status);
    rates.push(v.rate);
    const hour = Math.floor((t - day.startMs) / 3_600_000);
    const potential = scale * curve.weight(hour) * 24 * (BUDGET / 1440) * (0.8 + 0.4 * rng());
    const s = Math.round(potential * v.rate);
    spent += s;
    hourly[hour]! += s;
  }
  return { spent, hourly, rates, statuses, controller: c };
}

describe('PacingController on synthetic traffic', () => {
  it('even: spends the budget over the day along the curve', () => {
    const { spent, hourly, rates } = runDay(5, 'even');
    expect(spent / BUDGET).toBeGreaterThan(0.99);
    expect(spent / BUDGET).toBeLessThan(1.005);
    const plan = new DayPlan(day, curve, 'even');
    const planned = hourly.map(
      (_, h) => BUDGET * plan.share(day.startMs + h * 3_600_000, day.startMs + (h + 1) * 3_600_000),
    );
    const rmse = Math.sqrt(hourly.reduce((s, x, h) => s + (x - planned[h]!) ** 2, 0) / 24);
    expect(rmse / (BUDGET / 24)).toBeLessThan(0.05);
    // Five times the traffic needed: the rate settles near 1/5.
    expect(rates[rates.length / 2]!).toBeGreaterThan(0.15);
    expect(rates[rates.length / 2]!).toBeLessThan(0.25);
    for (const r of rates) expect(r >= 1e-4 && r <= 1).toBe(true);
  });

  it('frontloaded: spends more in the morning than even does', () => {
    const even = runDay(5, 'even');
    const front = runDay(5, 'frontloaded');
    const firstHalf = (h: number[]) => h.slice(0, 12).reduce((a, b) => a + b, 0);
    expect(firstHalf(front.hourly)).toBeGreaterThan(firstHalf(even.hourly) * 1.15);
    expect(front.spent / BUDGET).toBeGreaterThan(0.99);
  });

  it('behind when the traffic cannot carry the plan: the rate stays at 1', () => {
    const { rates, statuses, controller } = runDay(0.5, 'even');
    expect(rates.slice(60).every((r) => r === 1)).toBe(true);
    expect(controller.view('li')!.status).toBe('behind');
    expect(statuses.has('ahead')).toBe(false);
  });

  it('ahead when spend runs past the plan; asap is never throttled', () => {
    const c = new PacingController();
    const input = (spent: number, mode: PacingInput['mode'] = 'even'): PacingInput => ({
      lineItemId: 'li',
      mode,
      zone: 'Europe/Paris',
      curve,
      dailyTargetMicros: BUDGET,
      spentTodayMicros: spent,
    });
    c.update(input(0), day.startMs + 8 * 3_600_000);
    const v = c.update(input(BUDGET / 2), day.startMs + 8 * 3_600_000 + MIN);
    expect(v.status).toBe('ahead');
    expect(v.rate).toBe(0.5); // one tick moves the rate down by at most 1 / (1 + beta)
    expect(c.update(input(BUDGET / 2, 'asap'), day.startMs + 9 * 3_600_000).rate).toBe(1);
    expect(c.rate('unknown')).toBe(1);
  });

  it('a new local day starts a new plan', () => {
    const c = new PacingController();
    const input = (spent: number): PacingInput => ({
      lineItemId: 'li',
      mode: 'even',
      zone: 'Europe/Paris',
      curve,
      dailyTargetMicros: BUDGET,
      spentTodayMicros: spent,
    });
    expect(c.update(input(BUDGET), day.endMs - MIN).day).toBe(day.day);
    const next = c.update(input(0), day.endMs);
    expect(next.day).toBe('2030-06-11');
    expect(next.plannedTodayMicros).toBe(0);
  });
});
