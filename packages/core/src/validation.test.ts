import { describe, expect, it } from 'vitest';
import type { Campaign, Creative, LineItem, Placement } from './entities.ts';
import {
  creativeFitsPlacement,
  pinnedPlacementIds,
  validateCampaign,
  validateCreative,
  validateLineItem,
  validateLineItemRelations,
  validatePlacement,
  validateTargeting,
} from './validation.ts';

const meta = { version: 1, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' };

function lineItem(over: Partial<LineItem> = {}): LineItem {
  return {
    ...meta,
    id: 'li_1',
    advertiserId: 'adv_1',
    campaignId: 'cmp_1',
    name: 'LI',
    status: 'active',
    priority: 'standard',
    pricingModel: 'cpm',
    rateMicros: 2_000_000,
    currency: 'USD',
    startAt: '2026-11-01T00:00:00Z',
    endAt: '2026-12-01T00:00:00Z',
    timeZone: 'Europe/Paris',
    lifetimeBudgetMicros: 1_000_000_000,
    dailyBudgetMicros: 50_000_000,
    lifetimeImpressionGoal: null,
    dailyImpressionGoal: null,
    pacing: 'even',
    dayParting: [],
    targeting: null,
    frequencyCaps: [],
    rotation: 'weighted',
    creatives: [{ creativeId: 'cr_1', weight: 1 }],
    allowSameAdvertiser: false,
    ...over,
  };
}

function creative(over: Partial<Creative> = {}): Creative {
  return {
    ...meta,
    id: 'cr_1',
    advertiserId: 'adv_1',
    name: 'Banner',
    status: 'active',
    kind: 'image',
    format: 'banner',
    width: 300,
    height: 250,
    imageUrl: 'https://cdn.example/b.png',
    clickUrl: 'https://example.com',
    categories: [],
    approval: 'approved',
    ...over,
  };
}

function placement(over: Partial<Placement> = {}): Placement {
  return {
    ...meta,
    id: 'plc_1',
    publisherId: 'pub_1',
    siteId: 'site_1',
    name: 'MPU',
    status: 'active',
    formats: ['banner'],
    sizes: [{ w: 300, h: 250 }],
    floorMicros: 0,
    currency: 'USD',
    auction: 'second_price',
    allowSameAdvertiser: false,
    ...over,
  };
}

const codes = (issues: { code: string }[]) => issues.map((i) => i.code);

describe('line item rules', () => {
  it('accepts a sensible line item', () => {
    expect(validateLineItem(lineItem())).toEqual([]);
  });
  it('wants the end after the start', () => {
    const issues = validateLineItem(lineItem({ endAt: '2026-10-01T00:00:00Z' }));
    expect(issues).toContainEqual(expect.objectContaining({ path: '/endAt', code: 'end_before_start' }));
  });
  it('wants a daily budget within the lifetime budget', () => {
    expect(codes(validateLineItem(lineItem({ dailyBudgetMicros: 2_000_000_000 })))).toContain('daily_over_lifetime');
  });
  it('wants a daily click goal within the lifetime click goal', () => {
    const bad = validateLineItem(lineItem({ dailyClickGoal: 11, lifetimeClickGoal: 10 }));
    expect(bad).toContainEqual(expect.objectContaining({ path: '/dailyClickGoal', code: 'daily_over_lifetime' }));
    expect(validateLineItem(lineItem({ dailyClickGoal: 10, lifetimeClickGoal: 10 }))).toEqual([]);
  });
  it('knows time zones', () => {
    expect(codes(validateLineItem(lineItem({ timeZone: 'Mars/Olympus' })))).toContain('bad_time_zone');
  });
  it('checks day parts, duplicates and flat fees', () => {
    const issues = validateLineItem(
      lineItem({
        dayParting: [{ weekdays: [1], startHour: 10, endHour: 9 }],
        creatives: [
          { creativeId: 'cr_1', weight: 1 },
          { creativeId: 'cr_1', weight: 2 },
        ],
        frequencyCaps: [
          { count: 1, per: 'day' },
          { count: 2, per: 'day' },
        ],
        pricingModel: 'flat',
        endAt: null,
      }),
    );
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['/dayParting/0/endHour', '/creatives/1/creativeId', '/frequencyCaps/1', '/endAt']),
    );
  });
});

describe('relations', () => {
  const campaign = { ...meta, id: 'cmp_1', advertiserId: 'adv_1', name: 'C', status: 'active' } as Campaign;
  it('requires the campaign and creatives of the same advertiser', () => {
    const other = creative({ id: 'cr_2', advertiserId: 'adv_2' });
    const issues = validateLineItemRelations(
      lineItem({
        creatives: [
          { creativeId: 'cr_2', weight: 1 },
          { creativeId: 'cr_404', weight: 1 },
        ],
      }),
      { ...campaign, advertiserId: 'adv_9' },
      new Map([['cr_2', other]]),
      [],
    );
    expect(codes(issues)).toEqual(['wrong_owner', 'wrong_owner', 'not_found']);
    expect(codes(validateLineItemRelations(lineItem(), undefined, new Map(), []))).toContain('not_found');
  });
  it('requires assigned creatives to fit the placements the line item pins', () => {
    const li = lineItem({ targeting: { and: [{ dimension: 'placement', values: ['plc_1'] }] } });
    const leaderboard = creative({ width: 728, height: 90 });
    const issues = validateLineItemRelations(li, campaign, new Map([['cr_1', leaderboard]]), [placement()]);
    expect(codes(issues)).toEqual(['creative_does_not_fit']);
    expect(validateLineItemRelations(li, campaign, new Map([['cr_1', creative()]]), [placement()])).toEqual([]);
  });
});

describe('creatives and placements', () => {
  it('knows what each kind needs', () => {
    expect(validateCreative(creative())).toEqual([]);
    expect(codes(validateCreative(creative({ imageUrl: undefined, width: undefined })))).toEqual([
      'required',
      'required',
    ]);
    expect(codes(validateCreative(creative({ kind: 'vast', format: 'banner' })))).toContain('format_mismatch');
    expect(codes(validateCreative({ kind: 'html', format: 'banner', width: 1, height: 1 }))).toEqual(['required']);
  });
  it('fits creatives to placements by format and size', () => {
    expect(creativeFitsPlacement(creative(), placement())).toBe(true);
    expect(creativeFitsPlacement(creative({ width: 320, height: 50 }), placement())).toBe(false);
    expect(creativeFitsPlacement(creative({ format: 'native', kind: 'native' }), placement())).toBe(false);
    const video = placement({
      formats: ['video'],
      sizes: [],
      video: { minDurationSec: 5, maxDurationSec: 30, mimeTypes: ['video/mp4'] },
    });
    const vast = creative({
      kind: 'vast',
      format: 'video',
      video: { mediaUrl: 'https://v.example/a.mp4', mimeType: 'video/mp4', durationSec: 15, width: 640, height: 360 },
    });
    expect(creativeFitsPlacement(vast, video)).toBe(true);
    expect(creativeFitsPlacement({ ...vast, video: { ...vast.video!, durationSec: 60 } }, video)).toBe(false);
  });
  it('wants sizes on banner placements and video settings on video ones', () => {
    expect(codes(validatePlacement(placement({ sizes: [] })))).toEqual(['required']);
    expect(codes(validatePlacement(placement({ formats: ['video'], sizes: [] })))).toEqual(['required']);
  });
  it('checks campaign flights and budgets', () => {
    expect(
      codes(
        validateCampaign({
          startAt: '2026-02-01T00:00:00Z',
          endAt: '2026-01-01T00:00:00Z',
          dailyBudgetMicros: 5,
          lifetimeBudgetMicros: 1,
        }),
      ),
    ).toEqual(['end_before_start', 'daily_over_lifetime']);
  });
});

describe('targeting rules', () => {
  it('checks values per dimension', () => {
    const issues = validateTargeting({
      and: [
        { dimension: 'country', values: ['US', 'usa'] },
        { dimension: 'hour', values: [25] },
        { dimension: 'device', values: ['toaster'] },
        { dimension: 'kv', values: ['x'] },
        { not: { dimension: 'region', values: ['US-CA', 'California'] } },
      ],
    });
    expect(issues.map((i) => i.path)).toEqual([
      '/and/0/values/1',
      '/and/1/values/0',
      '/and/2/values/0',
      '/and/3/key',
      '/and/4/not/values/1',
    ]);
  });
  it('bounds depth', () => {
    let node: import('./targeting.ts').TargetingNode = { dimension: 'country', values: ['US'] };
    for (let i = 0; i < 10; i++) node = { not: node };
    expect(codes(validateTargeting(node))).toEqual(['too_deep']);
  });
  it('finds pinned placements', () => {
    expect(pinnedPlacementIds({ dimension: 'placement', values: ['plc_1'] })).toEqual(['plc_1']);
    expect(
      pinnedPlacementIds({
        and: [
          { dimension: 'placement', values: ['plc_1', 'plc_2'] },
          { dimension: 'country', values: ['US'] },
        ],
      }),
    ).toEqual(['plc_1', 'plc_2']);
    expect(pinnedPlacementIds({ or: [{ dimension: 'placement', values: ['plc_1'] }] })).toEqual([]);
    expect(pinnedPlacementIds(null)).toEqual([]);
  });
});
