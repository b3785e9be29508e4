import type { Actor } from '@marquee/store';
import { fixtures } from '@marquee/store/fixtures';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.ts';
import { createServingState, type ServingState } from './serving-state.ts';

const actor: Actor = { userId: null, label: 'test' };

async function ok<T>(p: Promise<{ kind: string; entity?: T }>): Promise<T> {
  const r = await p;
  if (r.kind !== 'ok') throw new Error(`write failed: ${r.kind}`);
  return r.entity as T;
}

/**
 * The serving state over a real store's change feed, with the delta layer shrunk to a few line items so
 * that the sliced full rebuild (a change too large for the delta) and the background compaction run.
 */
describe('serving state: incremental updates, sliced rebuilds, compaction', () => {
  let t: TestApp;
  let state: ServingState;

  beforeAll(async () => {
    t = await createTestApp();
    state = await createServingState({
      feed: t.store.feed,
      assets: t.store.assets,
      publicUrl: 'http://localhost',
      logger: pino({ level: 'silent' }),
      coalesceMs: 10,
      maxDeltaItems: 4,
      compactAt: 2,
    });
  });
  afterAll(async () => {
    await state?.stop();
    await t?.close();
  });

  it('applies small changes incrementally, large ones by a rebuild in slices, and compacts the delta', async () => {
    const { repos } = t.store;
    const adv = await ok(repos.advertiser.create(fixtures.advertiser(), actor));
    const camp = await ok(repos.campaign.create(fixtures.campaign(adv.id), actor));
    const cr = await ok(repos.creative.create(fixtures.creative(adv.id), actor));
    const ids: string[] = [];
    const live = async () => {
      const { seq } = await t.store.feed.loadSnapshot();
      expect(await state.waitFor(seq, 20_000)).toBe(true);
      return state.current;
    };
    // One at a time: each is an incremental update until the delta passes compactAt and is compacted.
    for (let i = 0; i < 6; i++) {
      const li = await ok(
        repos.lineItem.create(
          fixtures.lineItem(adv.id, camp.id, { creatives: [{ creativeId: cr.id, weight: 1 }] }),
          actor,
        ),
      );
      ids.push(li.id);
      expect((await live()).lineItemById.has(li.id)).toBe(true);
    }
    // Compaction runs in the background: eventually the delta layer is empty and every line item is still there.
    // (Up to 60 s: on a machine loaded by other work a sliced rebuild gets a fraction of a core.)
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && state.current.layers.baseItems !== state.current.lineItems.length)
      await new Promise((r) => setTimeout(r, 25));
    expect(state.current.layers.baseItems).toBe(state.current.lineItems.length);
    for (const id of ids) expect(state.current.lineItemById.has(id)).toBe(true);

    // Pausing the campaign touches its 6 line items at once, more than the delta holds: a full rebuild (in
    // slices). An incremental update would keep the base index (and leaves nothing to compact: paused items
    // are not added to the delta).
    const base = state.current.layers.baseIndex;
    const c = (await repos.campaign.get(camp.id, { kind: 'all' }))!;
    await ok(repos.campaign.update(c.id, c.version, { ...c, status: 'paused' }, { kind: 'all' }, actor));
    const paused = await live();
    expect(paused.layers.baseIndex).not.toBe(base);
    for (const id of ids) {
      expect(paused.lineItemById.has(id)).toBe(false);
      expect(paused.excluded.get(id)).toBe('status');
    }
    const more: string[] = [];
    for (let i = 0; i < 2; i++) {
      const li = await ok(
        repos.lineItem.create(
          fixtures.lineItem(adv.id, camp.id, { creatives: [{ creativeId: cr.id, weight: 1 }] }),
          actor,
        ),
      );
      more.push(li.id);
    }
    const s = await live();
    for (const id of more) expect(s.excluded.get(id)).toBe('status');
    // And back: every line item of the campaign serves again.
    const c2 = (await repos.campaign.get(camp.id, { kind: 'all' }))!;
    await ok(repos.campaign.update(c2.id, c2.version, { ...c2, status: 'active' }, { kind: 'all' }, actor));
    const s2 = await live();
    for (const id of [...ids, ...more]) expect(s2.lineItemById.has(id)).toBe(true);
    expect(s2.excluded.has(ids[0]!)).toBe(false);
  });
});
