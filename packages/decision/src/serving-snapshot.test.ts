import type { LineItem, TargetingNode } from '@marquee/core';
import type { Change } from '@marquee/store';
import { describe, expect, it } from 'vitest';
import { cappedCandidates, decide } from './decide.ts';
import type { DecisionRequest } from './decision-request.ts';
import * as f from './fixtures.ts';
import { OverlayMap } from './overlay-map.ts';
import { mulberry32 } from './rng.ts';
import {
  applyChanges,
  buildServingSnapshot,
  DELTA_LEVELS,
  MAX_DELTA_ITEMS,
  rebuildSteps,
  runInSlices,
  runToEnd,
  type ServingSnapshot,
  updateSnapshot,
  updateSteps,
} from './serving-snapshot.ts';

const NOW = Date.parse('2026-03-02T12:00:00Z');
const ADVS = ['a', 'b', 'c', 'd', 'e'];
const TARGETS: (TargetingNode | null)[] = [
  null,
  { dimension: 'country', values: ['US'] },
  { dimension: 'country', values: ['FR', 'DE'] },
  { and: [{ dimension: 'device', values: ['mobile'] }, { not: { dimension: 'keyword', values: ['k1'] } }] },
  {
    or: [
      { dimension: 'keyword', values: ['k2'] },
      { dimension: 'hour', values: [12, 13] },
    ],
  },
];

function initial() {
  return f.storeSnapshot({
    advertisers: ADVS.map((a) => f.advertiser(`adv_${a}`)),
    campaigns: ADVS.map((a) => f.campaign(`cmp_${a}`, `adv_${a}`)),
    creatives: [
      ...ADVS.map((a) => f.creative(`cr_${a}`, `adv_${a}`)),
      ...ADVS.map((a) => f.creative(`crw_${a}`, `adv_${a}`, { width: 728, height: 90 })),
    ],
    lineItems: Array.from({ length: 30 }, (_, i) => lineItemN(i, 0)),
    publishers: [f.publisher('pub_1')],
    sites: [f.site('site_1', 'pub_1')],
    placements: [
      f.placement('plc_1', 'site_1', 'pub_1'),
      f.placement('plc_w', 'site_1', 'pub_1', { sizes: [{ w: 728, h: 90 }], floorMicros: 1_000_000 }),
    ],
  });
}

function lineItemN(i: number, version: number): LineItem {
  const a = ADVS[i % ADVS.length]!;
  return f.lineItem(`li_${i}`, `adv_${a}`, `cmp_${a}`, [`cr_${a}`, `crw_${a}`], {
    version: version + 1,
    rateMicros: 500_000 + ((i * 7 + version * 3) % 11) * 250_000,
    priority: (['standard', 'price_priority', 'house'] as const)[(i + version) % 3]!,
    targeting: TARGETS[(i + version) % TARGETS.length]!,
    timeZone: ['UTC', 'Asia/Tokyo'][i % 2]!,
    frequencyCaps: (i + version) % 4 === 0 ? [{ count: 2, per: 'day' }] : [],
  });
}

const REQUESTS: DecisionRequest[] = [];
for (const country of ['US', 'FR'])
  for (const device of ['mobile', 'desktop'])
    for (const keywords of [[], ['k1'], ['k2']]) {
      REQUESTS.push({
        placements: [{ placementId: 'plc_1' }, { placementId: 'plc_w', count: 2 }],
        country,
        device,
        keywords,
      });
    }

function decisions(s: ServingSnapshot) {
  return REQUESTS.map((r, i) => decide(r, s, NOW, mulberry32(i)));
}

/** A full rebuild from the entities the snapshot reflects. */
function rebuilt(s: ServingSnapshot): ServingSnapshot {
  const m = s.source.maps;
  return buildServingSnapshot(
    f.storeSnapshot(
      {
        advertisers: [...m.advertiser.values()],
        campaigns: [...m.campaign.values()],
        creatives: [...m.creative.values()],
        lineItems: [...m.lineItem.values()],
        publishers: [...m.publisher.values()],
        sites: [...m.site.values()],
        placements: [...m.placement.values()],
      },
      s.seq,
    ),
  );
}

describe('applyChanges', () => {
  it('updates incrementally and decides exactly as a full rebuild would', () => {
    const rng = mulberry32(99);
    let s = buildServingSnapshot(initial());
    const base = s.layers.baseIndex;
    let seq = 1;
    const versions = new Map<number, number>();
    for (let step = 0; step < 40; step++) {
      const changes: Change[] = [];
      const kind = Math.floor(rng() * 7);
      const i = Math.floor(rng() * 34); // 30..33 are new line items
      const m = s.source.maps;
      if (kind <= 1) {
        const v = (versions.get(i) ?? 0) + 1;
        versions.set(i, v);
        changes.push(f.change(++seq, 'lineItem', lineItemN(i, v)));
      } else if (kind === 2 && m.lineItem.has(`li_${i}`)) {
        const li = m.lineItem.get(`li_${i}`)!;
        changes.push(f.change(++seq, 'lineItem', { ...li, status: li.status === 'active' ? 'paused' : 'active' }));
      } else if (kind === 3) {
        const a = ADVS[i % ADVS.length]!;
        const c = m.campaign.get(`cmp_${a}`)!;
        changes.push(f.change(++seq, 'campaign', { ...c, status: c.status === 'active' ? 'paused' : 'active' }));
      } else if (kind === 4) {
        const a = ADVS[i % ADVS.length]!;
        const c = m.creative.get(`crw_${a}`)!;
        changes.push(
          f.change(++seq, 'creative', { ...c, approval: c.approval === 'approved' ? 'pending' : 'approved' }),
        );
      } else if (kind === 5) {
        const a = m.advertiser.get(`adv_${ADVS[i % ADVS.length]!}`)!;
        changes.push(f.change(++seq, 'advertiser', { ...a, status: a.status === 'active' ? 'paused' : 'active' }));
      } else {
        const p = m.placement.get('plc_w')!;
        changes.push(f.change(++seq, 'placement', { ...p, floorMicros: (p.floorMicros + 500_000) % 3_000_000 }));
      }
      s = applyChanges(s, changes);
      expect(decisions(s)).toEqual(decisions(rebuilt(s)));
      expect([...s.lineItemById.keys()].sort()).toEqual([...rebuilt(s).lineItems].map((x) => x.id).sort());
      expect(new Map(s.excluded)).toEqual(new Map(rebuilt(s).excluded));
    }
    // Every update above took the incremental path: the big index was never rebuilt.
    expect(s.layers.baseIndex).toBe(base);
    expect(s.lineItems.length).toBeGreaterThan(30);
  });

  it('falls back to a full rebuild when too much changed', () => {
    const s = buildServingSnapshot(initial());
    const many = Array.from({ length: MAX_DELTA_ITEMS + 1 }, (_, i) =>
      f.change(2 + i, 'lineItem', lineItemN(100 + i, 0)),
    );
    const next = applyChanges(s, many);
    expect(next.layers.baseIndex).not.toBe(s.layers.baseIndex);
    expect(next.layers.baseItems).toBe(next.lineItems.length);
    expect(next.lineItems.length).toBe(30 + MAX_DELTA_ITEMS + 1);
  });

  it('rebuilds in steps (yielding to the event loop) to the same snapshot as a synchronous rebuild', async () => {
    let s = buildServingSnapshot(initial());
    s = applyChanges(s, [f.change(2, 'lineItem', lineItemN(3, 1))]);
    const many = Array.from({ length: MAX_DELTA_ITEMS + 1 }, (_, i) =>
      f.change(3 + i, 'lineItem', lineItemN(100 + i, i % 4)),
    );
    expect(updateSnapshot(s, many)).toBeUndefined(); // too large for the delta layer
    let slices = 0;
    const stepped = await runInSlices(rebuildSteps(s, many), 1, () => slices++);
    expect(slices).toBeGreaterThan(1);
    expect(stepped.layers.baseItems).toBe(stepped.lineItems.length);
    expect(stepped.seq).toBe(many[many.length - 1]!.seq);
    expect(decisions(stepped)).toEqual(decisions(applyChanges(s, many)));
    expect(decisions(stepped)).toEqual(decisions(rebuilt(stepped)));
    // The rebuilt snapshot's entity maps are plain again (the overlay layers are folded in).
    expect(stepped.source.maps.lineItem).toBeInstanceOf(Map);
  });
});

/** Decisions with explain, entries sorted (the scan visits line items in position order, which differs after updates). */
function explained(s: ServingSnapshot) {
  return REQUESTS.map((r, i) => {
    const d = decide({ ...r, explain: true }, s, NOW, mulberry32(i));
    const key = (e: object) => JSON.stringify(e);
    return { placements: d.placements, explain: [...(d.explain ?? [])].map(key).sort() };
  });
}

/** The update as a server applies it with a delta bound of `maxDelta`: incremental, or past the bound a full rebuild (the compaction). */
function update(s: ServingSnapshot, changes: Change[], maxDelta: number): ServingSnapshot {
  // Odd sequence numbers take the stepped update (the server's): it must build the same snapshot.
  const incremental =
    changes[0]!.seq % 2 === 1
      ? runToEnd(updateSteps(s, changes, 0, maxDelta))
      : updateSnapshot(s, changes, 0, maxDelta);
  return incremental ?? runToEnd(rebuildSteps(s, changes));
}

/** One random change to the snapshot's entities, as the management API makes them (nothing is deleted). */
function randomChange(s: ServingSnapshot, seq: number, rng: () => number, versions: Map<number, number>): Change {
  const m = s.source.maps;
  const kind = Math.floor(rng() * 12);
  const i = Math.floor(rng() * 45); // 30..44 are new line items
  const a = ADVS[i % ADVS.length]!;
  const toggle = (x: string) => (x === 'active' ? 'paused' : 'active');
  const li = m.lineItem.get(`li_${i}`);
  if (kind <= 3 || !li) {
    const v = (versions.get(i) ?? 0) + 1;
    versions.set(i, v);
    return f.change(seq, 'lineItem', lineItemN(i, v));
  }
  if (kind === 4) return f.change(seq, 'lineItem', { ...li, status: toggle(li.status) as LineItem['status'] });
  if (kind === 5) return f.change(seq, 'lineItem', { ...li, status: 'archived' });
  if (kind === 6) {
    const c = m.creative.get(`crw_${a}`)!;
    return f.change(seq, 'creative', { ...c, approval: c.approval === 'approved' ? 'pending' : 'approved' });
  }
  if (kind === 7) {
    const c = m.creative.get(`cr_${a}`)!;
    return f.change(seq, 'creative', { ...c, status: toggle(c.status) as typeof c.status });
  }
  if (kind === 8) {
    const c = m.campaign.get(`cmp_${a}`)!;
    return f.change(seq, 'campaign', { ...c, status: toggle(c.status) as typeof c.status });
  }
  if (kind === 9) {
    const adv = m.advertiser.get(`adv_${a}`)!;
    return f.change(seq, 'advertiser', { ...adv, status: toggle(adv.status) as typeof adv.status });
  }
  if (kind === 10) {
    const p = m.placement.get(i % 2 === 0 ? 'plc_w' : 'plc_1')!;
    return i % 3 === 0
      ? f.change(seq, 'placement', { ...p, status: toggle(p.status) as typeof p.status })
      : f.change(seq, 'placement', { ...p, floorMicros: (p.floorMicros + 500_000) % 3_000_000 });
  }
  if (i % 2 === 0) {
    const site = m.site.get('site_1')!;
    return f.change(seq, 'site', {
      ...site,
      status: i % 4 === 0 ? toggle(site.status) : site.status,
      categories: i % 4 === 0 ? site.categories : ['IAB1'],
    });
  }
  const pub = m.publisher.get('pub_1')!;
  return f.change(seq, 'publisher', {
    ...pub,
    blockedAdvertiserIds: pub.blockedAdvertiserIds.length > 0 ? [] : [`adv_${a}`],
  });
}

describe('incremental updates (base shared, delta per snapshot)', () => {
  it.each([
    [4, 2026],
    [12, 7],
  ])(
    'random updates, across delta-index merges (every %i recent items) and compactions, decide and explain exactly as a full rebuild',
    (recentItems, seed) => {
      const saved = DELTA_LEVELS.recentItems;
      DELTA_LEVELS.recentItems = recentItems;
      try {
        randomUpdates(seed);
      } finally {
        DELTA_LEVELS.recentItems = saved;
      }
    },
  );

  function randomUpdates(seed: number) {
    const rng = mulberry32(seed);
    let s = buildServingSnapshot(initial());
    let seq = 1;
    const versions = new Map<number, number>();
    let compactions = 0;
    let merges = 0;
    // Older snapshots and what they decided when they were made: checked again after every later update.
    const kept: { s: ServingSnapshot; decided: ReturnType<typeof explained> }[] = [];
    for (let step = 0; step < 160; step++) {
      const changes = Array.from({ length: 1 + Math.floor(rng() * 3) }, () => randomChange(s, ++seq, rng, versions));
      const prev = s;
      s = update(s, changes, 70);
      if (s.layers.baseIndex !== prev.layers.baseIndex) compactions++;
      else {
        // The base is shared, never copied.
        expect(s.lineItems.base).toBe(prev.lineItems.base);
        if (s.layers.older !== prev.layers.older) merges++;
      }
      const got = explained(s);
      expect(got).toEqual(explained(rebuilt(s)));
      expect(decisions(s)).toEqual(decisions(rebuilt(s)));
      // The caps prefetch (the capped index, layered the same way).
      const capped = (x: ServingSnapshot) =>
        REQUESTS.map((r) =>
          cappedCandidates(r, x, NOW)
            .map((c) => c.id)
            .sort(),
        );
      expect(capped(s)).toEqual(capped(rebuilt(s)));
      expect(new Map(s.excluded)).toEqual(new Map(rebuilt(s).excluded));
      expect(new Map([...s.placements].map(([k, p]) => [k, p.active]))).toEqual(
        new Map([...rebuilt(s).placements].map(([k, p]) => [k, p.active])),
      );
      if (step % 10 === 0) kept.push({ s, decided: got });
      for (const k of kept) expect(explained(k.s)).toEqual(k.decided);
    }
    expect(compactions).toBeGreaterThan(0);
    expect(merges).toBeGreaterThan(0);
  }

  it('leaves an older snapshot as it was: two updates from one snapshot, and a chain', () => {
    let s0 = buildServingSnapshot(initial());
    // A delta already (the branching then happens over shared delta-level state too).
    s0 = update(
      s0,
      Array.from({ length: 40 }, (_, i) => f.change(2 + i, 'lineItem', lineItemN(i % 30, 1))),
      500,
    );
    const before = explained(s0);
    const hot = s0.lineItems.base;
    const keys = Float64Array.from(hot.staticRankKey);
    const paused = update(
      s0,
      [f.change(100, 'lineItem', { ...s0.source.maps.lineItem.get('li_3')!, status: 'paused' })],
      500,
    );
    const moved = update(
      s0,
      [f.change(100, 'lineItem', lineItemN(3, 7)), f.change(101, 'lineItem', lineItemN(40, 0))],
      500,
    );
    const chained = update(
      moved,
      [f.change(102, 'publisher', { ...s0.source.maps.publisher.get('pub_1')!, blockedAdvertiserIds: ['adv_a'] })],
      500,
    );
    expect(paused.lineItems.base).toBe(hot);
    expect(moved.lineItems.base).toBe(hot);
    expect(Float64Array.from(hot.staticRankKey)).toEqual(keys);
    expect(explained(s0)).toEqual(before);
    expect(s0.lineItemById.has('li_3')).toBe(true);
    expect(paused.lineItemById.has('li_3')).toBe(false);
    for (const x of [paused, moved, chained]) expect(explained(x)).toEqual(explained(rebuilt(x)));
    expect(explained(moved)).toEqual(explained(rebuilt(moved))); // after the chained update too
    expect(explained(s0)).toEqual(before);
  });
});

describe('updateSteps (the update in steps, as the server runs it in slices)', () => {
  /** Runs the steps to their end: the result and how many times they yielded. */
  function run(steps: Generator<void, ServingSnapshot | undefined, void>, onYield?: () => void) {
    let yields = 0;
    for (;;) {
      const r = steps.next();
      if (r.done) return { value: r.value, yields };
      yields++;
      onYield?.();
    }
  }

  it('spreads a bulk change and a merge of the delta levels over steps; a single change is one step; same snapshots', () => {
    const saved = DELTA_LEVELS.recentItems;
    DELTA_LEVELS.recentItems = 4;
    try {
      const s0 = buildServingSnapshot(initial());
      const before = explained(s0);
      // A bulk change of 300 line items (a step is about 128): the snapshot being served meanwhile is untouched.
      const bulk = Array.from({ length: 300 }, (_, i) => f.change(2 + i, 'lineItem', lineItemN(100 + i, i % 4)));
      let checked = 0;
      const { value: afterBulk, yields } = run(updateSteps(s0, bulk), () => {
        if (checked++ < 3) expect(explained(s0)).toEqual(before);
      });
      expect(yields).toBeGreaterThan(2);
      expect(explained(afterBulk!)).toEqual(explained(updateSnapshot(s0, bulk)!));
      expect(explained(afterBulk!)).toEqual(explained(rebuilt(afterBulk!)));
      expect(explained(s0)).toEqual(before);
      // Single changes: no yield (one slice in the server) unless the update merges the delta levels.
      let s = afterBulk!;
      let seq = 301;
      let merges = 0;
      for (let k = 0; k < 12; k++) {
        const { value, yields: n } = run(updateSteps(s, [f.change(++seq, 'lineItem', lineItemN(k, 5 + k))]));
        const merged = value!.layers.older !== s.layers.older;
        if (merged) merges++;
        expect(n > 0).toBe(merged);
        s = value!;
        expect(explained(s)).toEqual(explained(rebuilt(s)));
        expect(decisions(s)).toEqual(decisions(rebuilt(s)));
      }
      expect(merges).toBeGreaterThan(1);
    } finally {
      DELTA_LEVELS.recentItems = saved;
    }
  });
});

describe('OverlayMap', () => {
  it('behaves as a copied Map with the changes applied', () => {
    const rng = mulberry32(5);
    const model = new Map<string, number>([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    let m: ReadonlyMap<string, number> = new Map(model);
    for (let step = 0; step < 200; step++) {
      const sets: [string, number][] = [];
      const deletes: string[] = [];
      for (let k = 0; k < 3; k++) {
        const key = 'abcdefg'[Math.floor(rng() * 7)]!;
        if (rng() < 0.4) deletes.push(key);
        else sets.push([key, step * 10 + k]);
      }
      m = OverlayMap.with(m, sets, deletes);
      for (const d of deletes) model.delete(d);
      for (const [k, v] of sets) model.set(k, v);
      expect(new Map(m)).toEqual(model);
      expect(m.size).toBe(model.size);
      for (const key of 'abcdefgh') {
        expect(m.get(key)).toBe(model.get(key));
        expect(m.has(key)).toBe(model.has(key));
      }
      expect([...m.keys()].sort()).toEqual([...model.keys()].sort());
    }
  });

  it('leaves older maps unchanged', () => {
    const base = new Map([['a', 1]]);
    const one = OverlayMap.with(base, [['b', 2]]);
    const two = OverlayMap.with(one, [['a', 3]], ['b']);
    expect(new Map(one)).toEqual(
      new Map([
        ['a', 1],
        ['b', 2],
      ]),
    );
    expect(new Map(two)).toEqual(new Map([['a', 3]]));
    expect(new Map(base)).toEqual(new Map([['a', 1]]));
  });
});
