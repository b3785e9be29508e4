import type { LineItem, TargetingNode } from '@marquee/core';
import type { Change } from '@marquee/store';
import { describe, expect, it } from 'vitest';
import { decide } from './decide.ts';
import type { DecisionRequest } from './decision-request.ts';
import * as f from './fixtures.ts';
import { OverlayMap } from './overlay-map.ts';
import { mulberry32 } from './rng.ts';
import {
  applyChanges,
  buildServingSnapshot,
  MAX_DELTA_ITEMS,
  rebuildSteps,
  runInSlices,
  type ServingSnapshot,
  updateSnapshot,
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
      expect([...s.lineItemById.keys()].sort()).toEqual(
        rebuilt(s)
          .lineItems.map((x) => x.id)
          .sort(),
      );
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
