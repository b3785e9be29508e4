import type { LineItem } from '@marquee/core';
import { fixtures } from '@marquee/store/fixtures';
import { describe, expect, it } from 'vitest';
import { expectedShare, lineItemDelivery, localDayAt } from './delivery.ts';
import { csvCell } from './report-format.ts';
import { parseReportQuery, restrictToViewer } from './report-request.ts';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
function li(o: Partial<LineItem> = {}): LineItem {
  return {
    ...fixtures.lineItem('adv_1', 'cmp_1', {
      startAt: new Date(START).toISOString(),
      endAt: new Date(START + 10 * DAY).toISOString(),
      lifetimeBudgetMicros: 1_000_000,
    }),
    id: 'li_1',
    version: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...o,
  } as LineItem;
}
const run = (item: LineItem, spend: number, nowMs: number, today = 0) =>
  lineItemDelivery({
    lineItem: item,
    delivered: { spendMicros: spend, impressions: 0 },
    today: { spendMicros: today, impressions: 0 },
    localDay: '2026-01-06',
    dayFraction: 0.5,
    nowMs,
  });

describe('delivery against plan', () => {
  it('follows the pacing curves', () => {
    expect([0, 0.5, 1].map((t) => expectedShare('even', t))).toEqual([0, 0.5, 1]);
    expect([0, 0.5, 1].map((t) => expectedShare('frontloaded', t))).toEqual([0, 0.625, 1]);
    expect(expectedShare('asap', 0.1)).toBe(1);
  });

  it('gives statuses from delivered against expected', () => {
    const mid = START + 5 * DAY;
    expect(run(li(), 0, START - 1).status).toBe('not_started');
    expect(run(li(), 500_000, mid)).toMatchObject({ expectedByNow: 500_000, status: 'on_track', paceRatio: 1 });
    expect(run(li(), 300_000, mid).status).toBe('behind');
    expect(run(li(), 700_000, mid).status).toBe('ahead');
    expect(run(li({ pacing: 'frontloaded' }), 600_000, mid)).toMatchObject({
      expectedByNow: 625_000,
      status: 'on_track',
    });
    expect(run(li(), 1_000_000, mid).status).toBe('completed');
    expect(run(li(), 995_000, START + 11 * DAY).status).toBe('completed');
    expect(run(li(), 500_000, START + 11 * DAY).status).toBe('behind');
  });

  it('uses the daily goal when the flight has no end', () => {
    const open = li({ endAt: null, lifetimeBudgetMicros: null, dailyBudgetMicros: 200_000 });
    expect(run(open, 5_000_000, START + DAY, 100_000)).toMatchObject({
      basis: 'daily',
      expectedByNow: 100_000,
      status: 'on_track',
    });
    expect(run(open, 0, START + DAY, 10_000).status).toBe('behind');
  });

  it('finds the local day and its elapsed fraction in a zone', () => {
    expect(localDayAt(Date.UTC(2026, 0, 15, 23, 30), 'Europe/Paris')).toEqual({
      day: '2026-01-16',
      fraction: 0.5 / 24,
    });
    expect(localDayAt(Date.UTC(2026, 0, 15, 12), 'UTC')).toEqual({ day: '2026-01-15', fraction: 0.5 });
  });
});

describe('report parameters and CSV cells', () => {
  const defaults = { timeZone: 'UTC', today: '2026-01-31' };
  it('defaults to the last 7 days and intersects filters with the viewer scope', () => {
    const parsed = parseReportQuery({ filters: 'advertiser:a1|a2' }, defaults);
    expect(parsed.ok && parsed.value).toMatchObject({
      from: '2026-01-25',
      to: '2026-01-31',
      measures: ['impressions', 'clicks', 'spend'],
    });
    if (!parsed.ok) return;
    const scoped = restrictToViewer(parsed.value, { side: 'advertiser', advertiserIds: ['a2', 'a3'] });
    expect(scoped.ok && scoped.value.filters).toEqual({ advertiser: ['a2'] });
    const pub = restrictToViewer(parsed.value, { side: 'publisher', publisherIds: ['p1'] });
    expect(pub.ok).toBe(false); // spend is hidden from publishers
  });

  it('quotes CSV cells and defuses formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell(null)).toBe('');
  });
});
