import type { FrequencyCap, LineItem, Placement, Publisher } from '@marquee/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placeAssignment, RequestQuery, requestAssignment, timeValues } from './assignment.ts';
import { BudgetPacingGate, InMemorySpendCounters } from './budget-pacing-gate.ts';
import {
  type Ad,
  cappedCandidates,
  type DecidePorts,
  type Decision,
  decide,
  type PlacementDecision,
} from './decide.ts';
import type { DecisionRequest } from './decision-request.ts';
import { FixedPriorPredictor } from './fixed-prior-predictor.ts';
import * as f from './fixtures.ts';
import { KeyedConjunctionIndex } from './keyed-conjunction-index.ts';
import type { FrequencyCapView, RatePredictor } from './ports.ts';
import { mulberry32 } from './rng.ts';
import {
  applyChanges,
  buildServingSnapshot,
  type IndexKind,
  rankBound,
  rankKey,
  type ServingSnapshot,
} from './serving-snapshot.ts';

const NOW = Date.parse('2026-03-02T12:00:00Z'); // a Monday

const ADVERTISERS = ['adv_a', 'adv_b', 'adv_c', 'adv_d'];

interface World {
  lineItems: LineItem[];
  placements?: Partial<Placement>;
  publisher?: Partial<Publisher>;
  extraCreatives?: ReturnType<typeof f.creative>[];
  /** The snapshot's predictor (its ceilings make the CPC / CPA rank bounds). */
  predictor?: RatePredictor;
}

/** Advertiser adv_x has campaign cmp_x and creative cr_x (300x250 banner). */
function world(w: World, index: IndexKind = 'keyed'): ServingSnapshot {
  return buildServingSnapshot(
    f.storeSnapshot({
      advertisers: ADVERTISERS.map((a) => f.advertiser(a)),
      campaigns: ADVERTISERS.map((a) => f.campaign(`cmp_${a.slice(4)}`, a)),
      creatives: [
        ...ADVERTISERS.map((a) => f.creative(`cr_${a.slice(4)}`, a)),
        f.creative('cr_wide', 'adv_a', { width: 728, height: 90 }),
        f.creative('cr_video', 'adv_a', {
          kind: 'vast',
          format: 'video',
          width: undefined,
          height: undefined,
          video: {
            mediaUrl: 'https://cdn.example/v.mp4',
            mimeType: 'video/mp4',
            durationSec: 15,
            width: 640,
            height: 360,
          },
        }),
        ...(w.extraCreatives ?? []),
      ],
      lineItems: w.lineItems,
      publishers: [f.publisher('pub_1', w.publisher)],
      sites: [f.site('site_1', 'pub_1', { categories: ['IAB12'] })],
      placements: [
        f.placement('plc_1', 'site_1', 'pub_1', w.placements),
        f.placement('plc_2', 'site_1', 'pub_1', w.placements),
        f.placement('plc_w', 'site_1', 'pub_1', { sizes: [{ w: 728, h: 90 }] }),
        f.placement('plc_off', 'site_1', 'pub_1', { status: 'paused' }),
      ],
    }),
    { index, predictor: w.predictor },
  );
}

/** A line item of advertiser `adv` ('a'..'d') with its campaign and creative. */
const li = (id: string, adv: string, o: Partial<LineItem> = {}) =>
  f.lineItem(id, `adv_${adv}`, `cmp_${adv}`, [`cr_${adv}`], o);

const req = (o: Partial<DecisionRequest> = {}): DecisionRequest => ({
  placements: [{ placementId: 'plc_1' }],
  country: 'US',
  device: 'mobile',
  ...o,
});

function run(s: ServingSnapshot, r: DecisionRequest = req(), ports: DecidePorts = {}, seed = 1): Decision {
  return decide(r, s, NOW, mulberry32(seed), ports);
}
function ads(p: PlacementDecision | undefined): readonly Ad[] {
  return p?.kind === 'filled' ? p.ads : [];
}
function winner(d: Decision, i = 0): string | undefined {
  return ads(d.placements[i])[0]?.lineItemId;
}
function reasonOf(s: ServingSnapshot, id: string, r: DecisionRequest = req(), ports: DecidePorts = {}) {
  const d = run(s, { ...r, explain: { lineItemIds: [id] } }, ports);
  return d.explain?.map((e) => e.reason);
}

describe('decide: filling', () => {
  it('fills a placement with the matching line item and its creative', () => {
    const s = world({ lineItems: [li('li_1', 'a', { targeting: { dimension: 'country', values: ['US'] } })] });
    const d = run(s);
    expect(d.placements).toHaveLength(1);
    const p = d.placements[0]!;
    expect(p.kind).toBe('filled');
    const ad = ads(p)[0]!;
    expect(ad).toMatchObject({ lineItemId: 'li_1', creativeId: 'cr_a', advertiserId: 'adv_a', campaignId: 'cmp_a' });
    expect(d.explain).toBeUndefined();
  });

  it('answers unknown and inactive placements and no match with reasons, not errors', () => {
    const s = world({ lineItems: [li('li_1', 'a', { targeting: { dimension: 'country', values: ['FR'] } })] });
    const d = run(
      s,
      req({ placements: [{ placementId: 'plc_nope' }, { placementId: 'plc_off' }, { placementId: 'plc_1' }] }),
    );
    expect(d.placements).toEqual([
      { kind: 'no_fill', placementId: 'plc_nope', reason: 'unknown_placement' },
      { kind: 'no_fill', placementId: 'plc_off', reason: 'inactive_placement' },
      { kind: 'no_fill', placementId: 'plc_1', reason: 'no_match' },
    ]);
  });

  it('says no_eligible when candidates matched but all were rejected', () => {
    const s = world({ lineItems: [li('li_1', 'a', { startAt: '2027-01-01T00:00:00Z' })] });
    expect(run(s).placements[0]).toEqual({ kind: 'no_fill', placementId: 'plc_1', reason: 'no_eligible' });
  });
});

describe('decide: every rejection has its reason', () => {
  it('status and no_active_creative (left out of the index, reported by explain)', () => {
    const s = world({
      lineItems: [
        li('li_paused', 'a', { status: 'paused' }),
        f.lineItem('li_nocr', 'adv_b', 'cmp_b', ['cr_missing']),
        li('li_ok', 'c'),
      ],
    });
    expect(reasonOf(s, 'li_paused')).toEqual(['status']);
    expect(reasonOf(s, 'li_nocr')).toEqual(['no_active_creative']);
    expect(winner(run(s))).toBe('li_ok');
  });

  it('status of the campaign or the advertiser', () => {
    const snap = f.storeSnapshot({
      advertisers: [f.advertiser('adv_a', { status: 'paused' }), f.advertiser('adv_b')],
      campaigns: [f.campaign('cmp_a', 'adv_a'), f.campaign('cmp_b', 'adv_b', { status: 'archived' })],
      creatives: [f.creative('cr_a', 'adv_a'), f.creative('cr_b', 'adv_b')],
      lineItems: [li('li_a', 'a'), li('li_b', 'b')],
    });
    const s = buildServingSnapshot(snap);
    expect(s.lineItems).toHaveLength(0);
    expect([...s.excluded]).toEqual([
      ['li_a', 'status'],
      ['li_b', 'status'],
    ]);
  });

  it('flight: before start, after end, and the campaign flight', () => {
    const s = world({
      lineItems: [
        li('li_future', 'a', { startAt: '2026-04-01T00:00:00Z' }),
        li('li_ended', 'b', { endAt: '2026-03-02T11:59:59Z' }),
      ],
    });
    expect(reasonOf(s, 'li_future')).toEqual(['flight']);
    expect(reasonOf(s, 'li_ended')).toEqual(['flight']);
    // Built with nowMs, an ended line item is not indexed at all.
    const later = buildServingSnapshot(
      f.storeSnapshot({
        advertisers: [f.advertiser('adv_b')],
        campaigns: [f.campaign('cmp_b', 'adv_b', { endAt: '2026-02-01T00:00:00Z' })],
        creatives: [f.creative('cr_b', 'adv_b')],
        lineItems: [li('li_b', 'b')],
      }),
      { nowMs: NOW },
    );
    expect(later.excluded.get('li_b')).toBe('flight');
  });

  it('targeting', () => {
    const s = world({ lineItems: [li('li_fr', 'a', { targeting: { dimension: 'country', values: ['FR'] } })] });
    expect(reasonOf(s, 'li_fr')).toEqual(['targeting']);
  });

  it('blocked_advertiser and blocked_category (a block on IAB7 covers IAB7-1)', () => {
    const s = world({
      lineItems: [li('li_a', 'a'), li('li_b', 'b'), li('li_c', 'c')],
      publisher: { blockedAdvertiserIds: ['adv_a'], blockedCategories: ['IAB7'] },
      extraCreatives: [],
    });
    const s2 = applyChanges(s, [f.change(2, 'creative', f.creative('cr_b', 'adv_b', { categories: ['IAB7-1'] }))]);
    expect(reasonOf(s2, 'li_a')).toEqual(['blocked_advertiser']);
    expect(reasonOf(s2, 'li_b')).toEqual(['blocked_category']);
    expect(winner(run(s2))).toBe('li_c');
    // The advertiser's own categories count as the creative's.
    const s3 = applyChanges(s2, [f.change(3, 'advertiser', f.advertiser('adv_c', { categories: ['IAB7'] }))]);
    expect(reasonOf(s3, 'li_c')).toEqual(['blocked_category']);
  });

  it('currency_mismatch', () => {
    const s = world({ lineItems: [li('li_eur', 'a', { currency: 'EUR' })] });
    expect(reasonOf(s, 'li_eur')).toEqual(['currency_mismatch']);
  });

  it('no_fitting_creative (size and format)', () => {
    const s = world({
      lineItems: [
        f.lineItem('li_wide', 'adv_a', 'cmp_a', ['cr_wide']),
        f.lineItem('li_video', 'adv_a', 'cmp_a', ['cr_video']),
        li('li_b', 'b'),
      ],
    });
    expect(reasonOf(s, 'li_wide')).toEqual(['no_fitting_creative']);
    expect(reasonOf(s, 'li_video')).toEqual(['no_fitting_creative']);
    const d = run(s, req({ placements: [{ placementId: 'plc_w' }] }));
    expect(winner(d)).toBe('li_wide');
    expect(ads(d.placements[0])[0]!.creativeId).toBe('cr_wide');
  });

  it('below_floor binds standard and price priority, not sponsorship or house', () => {
    const s = world({
      placements: { floorMicros: 3_000_000 },
      lineItems: [
        li('li_std', 'a', { rateMicros: 2_000_000 }),
        li('li_pp', 'b', { rateMicros: 2_999_999, priority: 'price_priority' }),
        li('li_house', 'c', { rateMicros: 0, priority: 'house' }),
      ],
    });
    expect(reasonOf(s, 'li_std')).toEqual(['below_floor']);
    expect(reasonOf(s, 'li_pp')).toEqual(['below_floor']);
    expect(winner(run(s))).toBe('li_house');
  });

  it('frequency_cap, from the prefetched view and from ads already chosen in the request', () => {
    const cap: FrequencyCap = { count: 2, per: 'day' };
    const s = world({
      lineItems: [
        li('li_capped', 'a', { frequencyCaps: [cap], allowSameAdvertiser: true }),
        li('li_b', 'b', { rateMicros: 1 }),
      ],
    });
    const seen = (n: number): FrequencyCapView => ({
      count: (id, c) => (id === 'li_capped' && c.per === 'day' ? n : 0),
    });
    expect(winner(run(s, req(), { frequencyCaps: seen(1) }))).toBe('li_capped');
    expect(reasonOf(s, 'li_capped', req(), { frequencyCaps: seen(2) })).toEqual(['frequency_cap']);
    // A line item serves once per request, even where its advertiser may appear twice.
    const two = run(s, req({ placements: [{ placementId: 'plc_1' }, { placementId: 'plc_2' }] }), {
      frequencyCaps: seen(1),
    });
    expect([winner(two, 0), winner(two, 1)]).toEqual(['li_capped', 'li_b']);
    expect(cappedCandidates(req(), s, NOW).map((x) => x.id)).toEqual(['li_capped']);
  });

  it('pacing: lifetime and daily budgets (daily in the line item zone) and impression goals', () => {
    const s = world({
      lineItems: [
        li('li_life', 'a', { lifetimeBudgetMicros: 10_000_000 }),
        li('li_day', 'b', { dailyBudgetMicros: 5_000_000, timeZone: 'Pacific/Auckland' }),
        li('li_goal', 'c', { dailyImpressionGoal: 100 }),
        li('li_free', 'd', { rateMicros: 1 }),
      ],
    });
    const spend = new InMemorySpendCounters();
    spend.add('li_life', '2026-03-01', 10_000_000, 5000);
    // NOW is Monday 12:00 UTC = Tuesday 01:00 in Auckland: Monday's spend no longer counts there.
    spend.add('li_day', '2026-03-02', 5_000_000, 10);
    spend.add('li_goal', '2026-03-02', 0, 100);
    const pacing = new BudgetPacingGate(s, spend);
    expect(reasonOf(s, 'li_life', req(), { pacing })).toEqual(['pacing']);
    expect(reasonOf(s, 'li_goal', req(), { pacing })).toEqual(['pacing']);
    expect(reasonOf(s, 'li_day', req(), { pacing })).toEqual(['won']);
    spend.add('li_day', '2026-03-03', 5_000_000, 10);
    expect(reasonOf(s, 'li_day', req(), { pacing })).toEqual(['pacing']);
  });

  it('same_advertiser across placements unless the placement or the line item allows it', () => {
    const two = req({ placements: [{ placementId: 'plc_1' }, { placementId: 'plc_2' }] });
    const items = [
      li('li_a1', 'a', { rateMicros: 5_000_000 }),
      f.lineItem('li_a2', 'adv_a', 'cmp_a', ['cr_a'], { rateMicros: 4_000_000 }),
      li('li_b', 'b', { rateMicros: 1_000_000 }),
    ];
    const d = run(world({ lineItems: items }), { ...two, explain: true });
    expect([winner(d, 0), winner(d, 1)]).toEqual(['li_a1', 'li_b']);
    expect(d.explain).toContainEqual({
      placementId: 'plc_2',
      lineItemId: 'li_a2',
      reason: 'same_advertiser',
      ecpmMicros: 4_000_000,
    });
    const byPlacement = run(world({ lineItems: items, placements: { allowSameAdvertiser: true } }), two);
    expect([winner(byPlacement, 0), winner(byPlacement, 1)]).toEqual(['li_a1', 'li_a2']);
    items[1] = { ...items[1]!, allowSameAdvertiser: true };
    const byLineItem = run(world({ lineItems: items }), two);
    expect([winner(byLineItem, 0), winner(byLineItem, 1)]).toEqual(['li_a1', 'li_a2']);
  });

  it('lower_priority and outbid for the eligible losers', () => {
    const s = world({
      lineItems: [
        li('li_sp', 'a', { priority: 'sponsorship', rateMicros: 1_000_000 }),
        li('li_std', 'b', { rateMicros: 9_000_000 }),
        li('li_sp2', 'c', { priority: 'sponsorship', rateMicros: 500_000 }),
      ],
    });
    const d = run(s, req({ explain: true }));
    expect(d.explain).toEqual([
      { placementId: 'plc_1', lineItemId: 'li_sp', reason: 'won', ecpmMicros: 1_000_000 },
      { placementId: 'plc_1', lineItemId: 'li_sp2', reason: 'outbid', ecpmMicros: 500_000 },
      { placementId: 'plc_1', lineItemId: 'li_std', reason: 'lower_priority', ecpmMicros: 9_000_000 },
    ]);
  });
});

describe('decide: tiers and eCPM', () => {
  it('sponsorship > standard > price_priority > house, whatever the rates', () => {
    const items = [
      li('li_house', 'a', { priority: 'house', rateMicros: 99_000_000 }),
      li('li_pp', 'b', { priority: 'price_priority', rateMicros: 50_000_000 }),
      li('li_std', 'c', { priority: 'standard', rateMicros: 10_000_000 }),
      li('li_sp', 'd', { priority: 'sponsorship', rateMicros: 1_000_000 }),
    ];
    const order: string[] = [];
    let rest = items;
    while (rest.length > 0) {
      const w = winner(run(world({ lineItems: rest })))!;
      order.push(w);
      rest = rest.filter((x) => x.id !== w);
    }
    expect(order).toEqual(['li_sp', 'li_std', 'li_pp', 'li_house']);
  });

  it('turns CPC and CPA rates into eCPM with the predicted rates', () => {
    const s = world({
      lineItems: [
        li('li_cpm', 'a', { rateMicros: 2_000_000 }), // $2 CPM
        li('li_cpc', 'b', { pricingModel: 'cpc', rateMicros: 1_000_000 }), // $1 per click
        li('li_cpa', 'c', { pricingModel: 'cpa', rateMicros: 50_000_000 }), // $50 per conversion
      ],
    });
    const ecpms = (predictor: FixedPriorPredictor) =>
      Object.fromEntries(
        run(s, req({ explain: true }), { predictor }).explain!.map((e) => [e.lineItemId, e.ecpmMicros]),
      );
    // CTR 0.1%: $1 CPC = $1 CPM; CVR 2%: $50 CPA = $1 CPM.
    expect(ecpms(new FixedPriorPredictor({ ctrPpm: 1_000, cvrPpm: 20_000 }))).toEqual({
      li_cpm: 2_000_000,
      li_cpc: 1_000_000,
      li_cpa: 1_000_000,
    });
    // CTR 0.3%: $3 CPC eCPM beats $2 CPM.
    const p = new FixedPriorPredictor({ ctrPpm: 3_000, perLineItem: new Map([['li_cpa', { cvrPpm: 100_000 }]]) });
    expect(ecpms(p)).toEqual({ li_cpc: 3_000_000, li_cpa: 15_000_000, li_cpm: 2_000_000 });
    expect(winner(run(s, req(), { predictor: p }))).toBe('li_cpa');
  });
});

describe('decide: auction prices', () => {
  const two = (placement: Partial<Placement>, a = 5_000_000, b = 3_000_000) =>
    world({
      placements: placement,
      lineItems: [li('li_a', 'a', { rateMicros: a }), li('li_b', 'b', { rateMicros: b })],
    });
  const price = (s: ServingSnapshot) => ads(run(s).placements[0])[0]!;

  it('second price: the runner-up plus one micro', () => {
    expect(price(two({}))).toMatchObject({
      lineItemId: 'li_a',
      auction: 'second_price',
      bidEcpmMicros: 5_000_000,
      clearingEcpmMicros: 3_000_001,
      chargeRateMicros: 3_000_001,
    });
  });
  it('second price: at least the floor', () => {
    expect(price(two({ floorMicros: 4_000_000 }, 5_000_000, 4_000_000)).clearingEcpmMicros).toBe(4_000_001);
    expect(
      price(world({ placements: { floorMicros: 4_000_000 }, lineItems: [li('li_a', 'a', { rateMicros: 5_000_000 })] }))
        .clearingEcpmMicros,
    ).toBe(4_000_000);
  });
  it('second price: a single bidder pays the floor, zero without one', () => {
    expect(price(world({ lineItems: [li('li_a', 'a', { rateMicros: 5_000_000 })] })).clearingEcpmMicros).toBe(0);
  });
  it('second price: a tie clears at the bid', () => {
    const p = price(two({}, 5_000_000, 5_000_000));
    expect(p.clearingEcpmMicros).toBe(5_000_000);
  });
  it('first price: the winner pays its bid', () => {
    expect(price(two({ auction: 'first_price' }))).toMatchObject({
      auction: 'first_price',
      clearingEcpmMicros: 5_000_000,
    });
  });
  it('a CPC winner pays its rate scaled by clearing / bid', () => {
    const s = world({
      lineItems: [
        li('li_a', 'a', { pricingModel: 'cpc', rateMicros: 4_000_000 }),
        li('li_b', 'b', { rateMicros: 2_000_000 }),
      ],
    });
    // eCPM at CTR 0.1% = $4; runner-up $2: clears at $2.000001 eCPM, so a click costs 4 * 2.000001 / 4.
    expect(ads(run(s).placements[0])[0]).toMatchObject({
      bidEcpmMicros: 4_000_000,
      clearingEcpmMicros: 2_000_001,
      chargeRateMicros: 2_000_001,
    });
  });
  it('sponsorship and house clear at their own rate', () => {
    const s = world({
      lineItems: [
        li('li_sp', 'a', { priority: 'sponsorship', rateMicros: 7_000_000 }),
        li('li_b', 'b', { priority: 'sponsorship', rateMicros: 1_000_000 }),
      ],
    });
    expect(price(s)).toMatchObject({ auction: 'fixed', clearingEcpmMicros: 7_000_000 });
  });
  it('the runner-up is in the winner tier and not excluded by the same-advertiser rule', () => {
    const s = world({
      lineItems: [
        li('li_a', 'a', { rateMicros: 5_000_000 }),
        li('li_pp', 'b', { priority: 'price_priority', rateMicros: 4_000_000 }),
      ],
    });
    expect(price(s).clearingEcpmMicros).toBe(0);
    // One ad asked for: the winner's own advertiser cannot be its runner-up, unless that line item allows it.
    const same = (o: Partial<LineItem>) =>
      world({
        lineItems: [li('li_a', 'a', { rateMicros: 5_000_000 }), li('li_a2', 'a', { rateMicros: 4_500_000, ...o })],
      });
    expect(price(same({})).clearingEcpmMicros).toBe(0);
    expect(price(same({ allowSameAdvertiser: true })).clearingEcpmMicros).toBe(4_500_001);
  });
  it('several slots: each pays the next one down (generalised second price)', () => {
    const s = world({
      lineItems: [
        li('li_a', 'a', { rateMicros: 5_000_000 }),
        li('li_b', 'b', { rateMicros: 3_000_000 }),
        li('li_c', 'c', { rateMicros: 1_000_000 }),
      ],
    });
    const d = run(s, req({ placements: [{ placementId: 'plc_1', count: 2 }] }));
    expect(ads(d.placements[0]).map((a) => [a.lineItemId, a.clearingEcpmMicros])).toEqual([
      ['li_a', 3_000_001],
      ['li_b', 1_000_001],
    ]);
  });
});

describe('decide: creative rotation', () => {
  it('rotates by weight with the seeded rng', () => {
    const s = world({
      extraCreatives: [f.creative('cr_a2', 'adv_a')],
      lineItems: [
        f.lineItem('li_a', 'adv_a', 'cmp_a', [], {
          creatives: [
            { creativeId: 'cr_a', weight: 1 },
            { creativeId: 'cr_a2', weight: 3 },
          ],
        }),
      ],
    });
    const rng = mulberry32(42);
    const counts: Record<string, number> = { cr_a: 0, cr_a2: 0 };
    for (let i = 0; i < 8000; i++) counts[ads(decide(req(), s, NOW, rng).placements[0])[0]!.creativeId]!++;
    expect(counts.cr_a! / 8000).toBeGreaterThan(0.23);
    expect(counts.cr_a! / 8000).toBeLessThan(0.27);
    // Only creatives that fit are rotated: on the 728x90 placement it is always cr_wide.
  });

  it('breaks eCPM ties at random, not by position', () => {
    const s = world({ lineItems: [li('li_a', 'a'), li('li_b', 'b')] });
    const wins = new Set<string>();
    for (let seed = 1; seed < 40; seed++) wins.add(winner(run(s, req(), {}, seed))!);
    expect(wins).toEqual(new Set(['li_a', 'li_b']));
  });
});

describe('decide: time zones', () => {
  const at = (iso: string, s: ServingSnapshot, r = req()) => winner(decide(r, s, Date.parse(iso), mulberry32(1)));
  const office = { weekdays: [1, 2, 3, 4, 5], startHour: 9, endHour: 17 };

  it('day-parting is in the line item zone, across DST', () => {
    const s = world({ lineItems: [li('li_ny', 'a', { timeZone: 'America/New_York', dayParting: [office] })] });
    // Winter: New York is UTC-5. 13:59Z = 08:59 local, 14:00Z = 09:00.
    expect(at('2026-03-02T13:59:00Z', s)).toBeUndefined();
    expect(at('2026-03-02T14:00:00Z', s)).toBe('li_ny');
    expect(at('2026-03-02T21:59:00Z', s)).toBe('li_ny');
    expect(at('2026-03-02T22:00:00Z', s)).toBeUndefined();
    // Summer (DST from 8 March 2026): UTC-4. 13:00Z = 09:00 local.
    expect(at('2026-03-09T12:59:00Z', s)).toBeUndefined();
    expect(at('2026-03-09T13:00:00Z', s)).toBe('li_ny');
    // Saturday local.
    expect(at('2026-03-07T15:00:00Z', s)).toBeUndefined();
    // Monday 01:00Z is still Sunday evening in New York.
    const evening = world({
      lineItems: [
        li('li_ny', 'a', { timeZone: 'America/New_York', dayParting: [{ weekdays: [0], startHour: 20, endHour: 21 }] }),
      ],
    });
    expect(at('2026-03-02T01:30:00Z', evening)).toBe('li_ny');
  });

  it('hour and weekday targeting are in the line item zone, half-hour offsets included', () => {
    const s = world({
      lineItems: [
        li('li_in', 'a', {
          timeZone: 'Asia/Kolkata',
          targeting: {
            and: [{ dimension: 'hour', values: [9] }, { not: { dimension: 'weekday', values: [0, 6] } }],
          },
        }),
        li('li_utc', 'b', { targeting: { dimension: 'hour', values: [9] } }),
      ],
    });
    // Kolkata is UTC+5:30: 09:00 local = 03:30Z.
    expect(at('2026-03-02T03:29:00Z', s)).toBeUndefined();
    expect(at('2026-03-02T03:30:00Z', s)).toBe('li_in');
    expect(at('2026-03-02T04:29:00Z', s)).toBe('li_in');
    expect(at('2026-03-02T04:30:00Z', s)).toBeUndefined();
    expect(at('2026-03-02T09:30:00Z', s)).toBe('li_utc');
    // Sunday in Kolkata.
    expect(at('2026-03-01T03:45:00Z', s)).toBeUndefined();
  });
});

describe('snapshot updates', () => {
  it('a paused line item stops serving, a new one serves, the old snapshot is untouched', () => {
    const a = li('li_a', 'a', { rateMicros: 5_000_000 });
    const s1 = world({ lineItems: [a] });
    expect(winner(run(s1))).toBe('li_a');
    const s2 = applyChanges(s1, [f.change(2, 'lineItem', { ...a, status: 'paused', version: 2 })]);
    expect(run(s2).placements[0]).toMatchObject({ kind: 'no_fill', reason: 'no_match' });
    expect(winner(run(s1))).toBe('li_a');
    const s3 = applyChanges(s2, [f.change(3, 'lineItem', li('li_b', 'b'))]);
    expect(winner(run(s3))).toBe('li_b');
    expect(s3.seq).toBe(3);
    // Changes at or before the snapshot's position are ignored.
    expect(applyChanges(s3, [f.change(3, 'lineItem', { ...a, version: 3 })]).lineItemById.has('li_a')).toBe(false);
    // A placement change is live too.
    const s4 = applyChanges(s3, [
      f.change(4, 'placement', f.placement('plc_1', 'site_1', 'pub_1', { status: 'paused' })),
    ]);
    expect(run(s4).placements[0]).toMatchObject({ kind: 'no_fill', reason: 'inactive_placement' });
  });

  it('index, Whang index, scan and explain give the same decisions', () => {
    const items: LineItem[] = [];
    const countries = ['US', 'FR', 'DE'];
    for (let i = 0; i < 60; i++) {
      items.push(
        li(`li_${i}`, 'abcd'[i % 4]!, {
          rateMicros: 1_000_000 + ((i * 7919) % 13) * 100_000,
          priority: (['sponsorship', 'standard', 'price_priority', 'house'] as const)[i % 4]!,
          targeting:
            i % 3 === 0
              ? { dimension: 'country', values: [countries[i % 3]!] }
              : i % 3 === 1
                ? {
                    and: [
                      { dimension: 'keyword', values: ['k1', 'k2'] },
                      { not: { dimension: 'device', values: ['desktop'] } },
                    ],
                  }
                : null,
        }),
      );
    }
    const s = world({ lineItems: items, placements: { floorMicros: 1_500_000 } });
    const whang = world({ lineItems: items, placements: { floorMicros: 1_500_000 } }, 'conjunction');
    for (const country of countries)
      for (const device of ['mobile', 'desktop'])
        for (const keywords of [[], ['k1'], ['k2', 'k3']]) {
          const r = req({
            country,
            device,
            keywords,
            placements: [{ placementId: 'plc_1', count: 2 }, { placementId: 'plc_2' }],
          });
          const scanned = run(s, r, { matcher: 'scan' }, 7);
          expect(run(s, r, { matcher: 'index' }, 7)).toEqual(scanned);
          expect(run(whang, r, { matcher: 'index' }, 7)).toEqual(scanned);
          // The explaining selection (every candidate checked) decides like the lazy one.
          expect(run(s, { ...r, explain: true }, {}, 7).placements).toEqual(scanned.placements);
        }
  });

  it('early termination (ranked index walk) decides as the full index, the scan and explain: random networks', () => {
    const rng = mulberry32(2024);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const countries = ['US', 'FR', 'DE', 'GB'];
    const keywords = ['k1', 'k2', 'k3', 'k4', 'k5'];
    const targetingOf = (): LineItem['targeting'] => {
      const leaf = (): NonNullable<LineItem['targeting']> =>
        rng() < 0.5
          ? { dimension: 'country', values: [pick(countries), pick(countries)] }
          : rng() < 0.7
            ? { dimension: 'keyword', values: [pick(keywords)] }
            : { dimension: 'device', values: [pick(['mobile', 'desktop'])] };
      const r = rng();
      if (r < 0.2) return null;
      if (r < 0.5) return leaf();
      if (r < 0.7) return { and: [leaf(), leaf()] };
      if (r < 0.85) return { or: [leaf(), leaf()] };
      return { and: [leaf(), { not: leaf() }] };
    };
    const cap: FrequencyCap = { count: 2, per: 'day' };
    for (let world_ = 0; world_ < 12; world_++) {
      const items: LineItem[] = [];
      const n = 20 + Math.floor(rng() * 80);
      for (let i = 0; i < n; i++) {
        const pricingModel = pick(['cpm', 'cpm', 'cpc', 'cpa', 'flat'] as const);
        items.push(
          li(`li_${world_}_${i}`, pick(['a', 'b', 'c', 'd']), {
            // Few distinct rates: many ties, settled by the hashed tie-break.
            rateMicros: pick([500_000, 1_000_000, 2_000_000, 3_000_000]) * (pricingModel === 'cpm' ? 1 : 2),
            pricingModel,
            priority: pick(['sponsorship', 'standard', 'standard', 'price_priority', 'house'] as const),
            targeting: targetingOf(),
            allowSameAdvertiser: rng() < 0.2,
            ...(rng() < 0.2 ? { frequencyCaps: [cap] } : {}),
          }),
        );
      }
      const floorMicros = pick([0, 900_000, 1_500_000]);
      const auction = pick(['first_price', 'second_price'] as const);
      // The snapshot's predictor, with per line item rates: its ceilings order the CPC / CPA candidates.
      const perLineItem = new Map(
        items
          .filter(() => rng() < 0.3)
          .map((x) => [x.id, { ctrPpm: pick([500, 4_000]), cvrPpm: pick([5_000, 90_000]) }]),
      );
      const predictor = new FixedPriorPredictor({ ctrPpm: 2_000, perLineItem });
      const s = world({ lineItems: items, placements: { floorMicros, auction }, predictor });
      // The same network reached through an incremental update (a layered index: base minus dead, plus delta).
      const first = world({ lineItems: items.slice(0, n - 5), placements: { floorMicros, auction }, predictor });
      let seq = first.seq;
      const layered = applyChanges(first, [
        ...items.slice(n - 5).map((x) => f.change(++seq, 'lineItem', x)),
        f.change(++seq, 'lineItem', { ...items[0]!, version: items[0]!.version + 1 }),
      ]);
      expect(layered.layers.baseIndex).not.toBe(layered.index);
      const capped = new Set(items.filter((x) => rng() < 0.5).map((x) => x.id));
      const caps: FrequencyCapView = { count: (id) => (capped.has(id) ? 2 : 0) };
      for (let q = 0; q < 15; q++) {
        const r = req({
          country: pick(countries),
          device: pick(['mobile', 'desktop']),
          keywords: keywords.filter(() => rng() < 0.3),
          placements: [{ placementId: 'plc_1', count: 1 + Math.floor(rng() * 3) }, { placementId: 'plc_2' }],
        });
        const ports: DecidePorts = { frequencyCaps: caps };
        const scanned = run(s, r, { ...ports, matcher: 'scan' }, q);
        expect(s.index.ranked).toBeDefined();
        // Ranked walks only (eagerEntries 0), and short lists verified at once (the default threshold).
        for (const eager of [0, KeyedConjunctionIndex.eagerEntries]) {
          const saved = KeyedConjunctionIndex.eagerEntries;
          KeyedConjunctionIndex.eagerEntries = eager;
          try {
            expect(run(s, r, { ...ports, matcher: 'index' }, q)).toEqual(scanned);
            expect(run(layered, r, { ...ports, matcher: 'index' }, q)).toEqual(scanned);
          } finally {
            KeyedConjunctionIndex.eagerEntries = saved;
          }
        }
        expect(run(s, r, { ...ports, matcher: 'full-index' }, q)).toEqual(scanned);
        // The same rates from another predictor object: no early stop (its ceilings are not the index's), same outcome.
        const other = { ...ports, predictor: new FixedPriorPredictor({ ctrPpm: 2_000, perLineItem }) };
        expect(run(s, r, { ...other, matcher: 'index' }, q)).toEqual(scanned);
        expect(run(s, { ...r, explain: true }, ports, q).placements).toEqual(scanned.placements);
        // The caps prefetch (capped-only index) names exactly the capped line items whose targeting matches.
        const want = new Set<string>();
        for (const pr of r.placements) {
          const a = placeAssignment(requestAssignment(r, s, NOW), r, s.placements.get(pr.placementId)!);
          for (const x of s.lineItems) if (x.frequencyCaps.length > 0 && x.matchTree(a)) want.add(x.id);
        }
        const ids = (xs: { id: string }[]) => xs.map((x) => x.id).sort();
        expect(ids(cappedCandidates(r, s, NOW))).toEqual([...want].sort());
        expect(ids(cappedCandidates(r, layered, NOW))).toEqual([...want].sort());
      }
    }
  });

  it('the index query path (no Assignment Map) stamps exactly the values of the Assignment: every dimension', () => {
    const rng = mulberry32(99);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    // One line item per (dimension, value), some negated: each matches iff the request carries the value.
    const leaves: NonNullable<LineItem['targeting']>[] = [
      ...['US', 'FR'].map((v) => ({ dimension: 'country' as const, values: [v] })),
      ...['US-CA', 'FR-IDF'].map((v) => ({ dimension: 'region' as const, values: [v] })),
      ...['mobile', 'desktop'].map((v) => ({ dimension: 'device' as const, values: [v] })),
      ...['ios', 'android'].map((v) => ({ dimension: 'os' as const, values: [v] })),
      ...['chrome', 'safari'].map((v) => ({ dimension: 'browser' as const, values: [v] })),
      ...['k1', 'k2'].map((v) => ({ dimension: 'keyword' as const, values: [v] })),
      ...['s1', 's2'].map((v) => ({ dimension: 'segment' as const, values: [v] })),
      // IAB12 is the site's own category (added to the page's).
      ...['IAB1', 'IAB12'].map((v) => ({ dimension: 'category' as const, values: [v] })),
      ...['news', 'sport'].map((v) => ({ dimension: 'kv' as const, key: 'section', values: [v] })),
      { dimension: 'kv', key: 'pos', values: ['atf'] },
      { dimension: 'placement', values: ['plc_1'] },
      { dimension: 'site', values: ['site_1'] },
      { dimension: 'publisher', values: ['pub_1'] },
      { dimension: 'hour', values: [12, 13] },
      { dimension: 'weekday', values: [1] },
    ];
    const items: LineItem[] = [];
    leaves.forEach((leaf, i) => {
      items.push(li(`li_${i}`, 'a', { targeting: leaf, timeZone: i % 2 ? 'Europe/Paris' : 'UTC' }));
      items.push(
        li(`li_not_${i}`, 'b', { targeting: { and: [{ not: leaf }, { dimension: 'device', values: ['x'] }] } }),
      );
      items.push(li(`li_and_${i}`, 'c', { targeting: { and: [leaf, pick(leaves)] }, pricingModel: 'cpc' }));
    });
    const s = world({ lineItems: items });
    const index = s.index as KeyedConjunctionIndex;
    const saved = KeyedConjunctionIndex.eagerEntries;
    for (const eager of [0, saved]) {
      KeyedConjunctionIndex.eagerEntries = eager;
      try {
        for (let q = 0; q < 200; q++) {
          const some = (xs: string[]) => xs.filter(() => rng() < 0.4);
          const r = req({
            country: pick(['US', 'FR', 'DE', '', undefined]),
            region: pick(['US-CA', 'FR-IDF', undefined]),
            device: pick(['mobile', 'desktop', undefined]),
            os: pick(['ios', 'android', undefined]),
            browser: pick(['chrome', 'safari', undefined]),
            keywords: some(['k1', 'k2', 'k3']),
            segments: some(['s1', 's2']),
            categories: some(['IAB1', 'IAB2']),
            kv: pick([undefined, { section: pick(['news', 'sport', 'x']), pos: some(['atf', 'btf']) }]),
            placements: [{ placementId: pick(['plc_1', 'plc_2']) }],
          });
          const now = NOW + Math.floor(rng() * 7 * 24) * 3_600_000;
          const sp = s.placements.get(r.placements[0]!.placementId)!;
          const a = placeAssignment(requestAssignment(r, s, now), r, sp);
          const want = Array.from(index.out.subarray(0, index.match(a))).sort((x, y) => x - y);
          const got = Array.from(
            index.out.subarray(0, index.beginQuery(new RequestQuery(r, sp, timeValues(s, now), s, now))),
          );
          for (let b = index.peekBound(); b !== Number.POSITIVE_INFINITY; b = index.peekBound()) {
            const item = index.advance();
            if (item >= 0) got.push(item);
          }
          expect(got.sort((x, y) => x - y)).toEqual(want);
        }
      } finally {
        KeyedConjunctionIndex.eagerEntries = saved;
      }
    }
  });
});

describe('decide: CPC / CPA rank bounds from the predictor ceilings (pruning)', () => {
  const COUNTRIES = ['US', 'FR', 'DE'];
  const KEYWORDS = ['k1', 'k2', 'k3'];
  const leaf = fc.oneof(
    fc.subarray(COUNTRIES, { minLength: 1 }).map((values) => ({ dimension: 'country' as const, values })),
    fc.subarray(KEYWORDS, { minLength: 1 }).map((values) => ({ dimension: 'keyword' as const, values })),
    fc.constantFrom('mobile', 'desktop').map((v) => ({ dimension: 'device' as const, values: [v] })),
  );
  const targeting: fc.Arbitrary<LineItem['targeting']> = fc.oneof(
    fc.constant(null),
    leaf,
    fc.tuple(leaf, leaf).map(([x, y]) => ({ and: [x, y] })),
    fc.tuple(leaf, leaf).map(([x, y]) => ({ or: [x, y] })),
    fc.tuple(leaf, leaf).map(([x, y]) => ({ and: [x, { not: y }] })),
  );
  const spec = fc.record({
    adv: fc.constantFrom('a', 'a', 'b', 'c'), // same-advertiser rivals are common
    // Mostly CPC / CPA: the pricing models whose bounds come from the ceilings. Few distinct rates: ties.
    pricingModel: fc.constantFrom('cpm', 'cpc', 'cpc', 'cpa', 'cpa', 'flat'),
    rate: fc.constantFrom(10_000, 500_000, 1_000_000, 2_000_000, 40_000_000),
    priority: fc.constantFrom('sponsorship', 'standard', 'standard', 'price_priority', 'house'),
    targeting,
    allowSameAdvertiser: fc.boolean(),
    capped: fc.boolean(),
    // Per line item rates (undefined: the network prior).
    ctrPpm: fc.option(fc.constantFrom(0, 300, 1_000, 7_000, 1_000_000), { nil: undefined }),
    cvrPpm: fc.option(fc.constantFrom(0, 5_000, 20_000, 400_000), { nil: undefined }),
  });
  const request = fc.record({
    country: fc.constantFrom(...COUNTRIES),
    device: fc.constantFrom('mobile', 'desktop'),
    keywords: fc.subarray(KEYWORDS),
    count: fc.integer({ min: 1, max: 3 }),
    twoPlacements: fc.boolean(),
    seed: fc.integer({ min: 0, max: 1_000 }),
  });
  const network = fc.record({
    items: fc.array(spec, { minLength: 1, maxLength: 40 }),
    ctrPpm: fc.constantFrom(200, 1_000, 5_000),
    cvrPpm: fc.constantFrom(10_000, 20_000, 300_000),
    floorMicros: fc.constantFrom(0, 300, 900_000),
    auction: fc.constantFrom('first_price', 'second_price'),
    requests: fc.array(request, { minLength: 1, maxLength: 6 }),
  });

  it('pruned (ranked walk, early stop) and unpruned selection pick the same winners at the same prices: random snapshots', () => {
    const cap: FrequencyCap = { count: 1, per: 'day' };
    fc.assert(
      fc.property(network, (net) => {
        const items = net.items.map((x, i) =>
          li(`li_${i}`, x.adv, {
            pricingModel: x.pricingModel,
            rateMicros: x.rate,
            priority: x.priority,
            targeting: x.targeting,
            allowSameAdvertiser: x.allowSameAdvertiser,
            ...(x.capped ? { frequencyCaps: [cap] } : {}),
          }),
        );
        const perLineItem = new Map(
          net.items.flatMap((x, i) =>
            x.ctrPpm === undefined && x.cvrPpm === undefined
              ? []
              : [[`li_${i}`, { ctrPpm: x.ctrPpm, cvrPpm: x.cvrPpm }] as const],
          ),
        );
        const predictor = new FixedPriorPredictor({ ctrPpm: net.ctrPpm, cvrPpm: net.cvrPpm, perLineItem });
        const placements = { floorMicros: net.floorMicros, auction: net.auction };
        const s = world({ lineItems: items, placements, predictor });
        // The bounds never exceed a real key (eCPM at the ceilings >= the predicted eCPM).
        for (const x of s.lineItems) {
          const ecpm =
            x.pricingModel === 'cpc'
              ? Math.floor((x.rateMicros * predictor.ctrPpm(x)) / 1000)
              : x.pricingModel === 'cpa'
                ? Math.floor((x.rateMicros * predictor.ctrPpm(x) * predictor.cvrPpm(x)) / 1e9)
                : x.rateMicros;
          expect(rankBound(x, s.predictor)).toBeLessThanOrEqual(rankKey(x.tier, ecpm));
          expect(rankBound(x, s.predictor)).toBe(rankKey(x.tier, ecpm)); // fixed priors: tight
        }
        const capped = new Set(items.filter((_, i) => i % 3 === 0).map((x) => x.id));
        const caps: FrequencyCapView = { count: (id) => (capped.has(id) ? 1 : 0) };
        for (const q of net.requests) {
          const r = req({
            country: q.country,
            device: q.device,
            keywords: q.keywords,
            placements: q.twoPlacements
              ? [{ placementId: 'plc_1', count: q.count }, { placementId: 'plc_2' }]
              : [{ placementId: 'plc_1', count: q.count }],
          });
          const unpruned = run(s, r, { frequencyCaps: caps, matcher: 'full-index' }, q.seed);
          const saved = KeyedConjunctionIndex.eagerEntries;
          try {
            for (const eager of [0, saved]) {
              KeyedConjunctionIndex.eagerEntries = eager;
              expect(run(s, r, { frequencyCaps: caps, matcher: 'index' }, q.seed)).toEqual(unpruned);
            }
          } finally {
            KeyedConjunctionIndex.eagerEntries = saved;
          }
          expect(run(s, { ...r, explain: true }, { frequencyCaps: caps }, q.seed).placements).toEqual(
            unpruned.placements,
          );
        }
      }),
      { numRuns: 400, seed: 1 },
    );
  });

  it('orders CPC / CPA line items by their eCPM at the ceilings, not first in their tier', () => {
    const predictor = new FixedPriorPredictor({ ctrPpm: 1_000, cvrPpm: 20_000 });
    const s = world({
      lineItems: [
        li('li_cpm', 'a', { rateMicros: 2_000_000 }),
        li('li_cpc', 'b', { pricingModel: 'cpc', rateMicros: 1_000_000 }), // eCPM 1,000,000
        li('li_cpa', 'c', { pricingModel: 'cpa', rateMicros: 10_000_000 }), // eCPM 200,000
      ],
      predictor,
    });
    const byId = (id: string) => s.lineItemById.get(id)!;
    expect(rankBound(byId('li_cpc'), predictor)).toBe(rankKey(1, 1_000_000));
    expect(rankBound(byId('li_cpa'), predictor)).toBe(rankKey(1, 200_000));
    expect(rankBound(byId('li_cpm'), predictor)).toBe(rankKey(1, 2_000_000));
    // A predictor without ceilings: the best key of the tier (every CPC / CPA candidate is looked at first).
    const bare: RatePredictor = { ctrPpm: () => 1_000, cvrPpm: () => 20_000 };
    expect(rankBound(byId('li_cpc'), bare)).toBe(rankKey(1, 2 ** 51 - 1));
    expect(winner(run(s))).toBe('li_cpm');
    expect(ads(run(s).placements[0])[0]?.clearingEcpmMicros).toBe(1_000_001);
  });
});
