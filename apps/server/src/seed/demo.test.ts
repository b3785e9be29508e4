import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Creative,
  creativeFitsPlacement,
  pinnedPlacementIds,
  validateCampaign,
  validateCreative,
  validateLineItem,
  validateLineItemRelations,
  validatePlacement,
} from '@marquee/core';
import { ALL, createStore, type Store } from '@marquee/store';
import { imageSize } from 'image-size';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDiskBlobStorage } from '../assets/local-disk-blob-storage.ts';
import { verifyPassword } from '../http/auth/passwords.ts';
import { DEMO_USERS, loadDemoData } from './demo.ts';

const actor = { userId: null, label: 'system:seed' };

describe('loadDemoData', () => {
  let store: Store;
  let dir: string;
  let blobs: LocalDiskBlobStorage;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marquee-demo-'));
    blobs = new LocalDiskBlobStorage(join(dir, 'assets'));
    store = await createStore({});
    await loadDemoData(store, actor, { blobs, now: new Date('2025-06-15T10:00:00Z') });
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const all = async <
    K extends 'advertiser' | 'campaign' | 'lineItem' | 'creative' | 'publisher' | 'site' | 'placement',
  >(
    kind: K,
  ) => (await store.repos[kind].list({ limit: 500 }, ALL)).items;

  it('creates a small network on both sides of the market', async () => {
    expect((await all('publisher')).length).toBe(2);
    const sites = await all('site');
    expect(sites.map((s) => s.kind).sort()).toEqual(['app', 'site', 'site']);
    const placements = await all('placement');
    const sizes = new Set(placements.flatMap((p) => p.sizes.map((s) => `${s.w}x${s.h}`)));
    for (const size of ['300x250', '728x90', '320x50', '160x600', '300x600']) expect(sizes).toContain(size);
    expect(placements.some((p) => p.formats.includes('native'))).toBe(true);
    const video = placements.find((p) => p.formats.includes('video'));
    expect(video?.video).toEqual({ minDurationSec: 15, maxDurationSec: 30, mimeTypes: ['video/mp4'] });
    for (const p of placements) expect(validatePlacement(p)).toEqual([]);

    expect((await all('advertiser')).length).toBe(3);
    const priorities = new Set((await all('lineItem')).map((li) => li.priority));
    expect([...priorities].sort()).toEqual(['house', 'price_priority', 'sponsorship', 'standard']);
  });

  it('obeys every business rule, and every assigned creative fits somewhere', async () => {
    const creatives = new Map((await all('creative')).map((c) => [c.id, c] as const));
    const campaigns = new Map((await all('campaign')).map((c) => [c.id, c] as const));
    const placements = await all('placement');
    for (const c of campaigns.values()) expect(validateCampaign(c), c.name).toEqual([]);
    for (const c of creatives.values()) {
      expect(validateCreative(c), c.name).toEqual([]);
      expect(c.approval).toBe('approved');
      expect(
        placements.some((p) => creativeFitsPlacement(c, p)),
        `${c.name} fits a placement`,
      ).toBe(true);
    }
    for (const li of await all('lineItem')) {
      const pinned = placements.filter((p) => pinnedPlacementIds(li.targeting).includes(p.id));
      expect(validateLineItem(li), li.name).toEqual([]);
      expect(validateLineItemRelations(li, campaigns.get(li.campaignId), creatives, pinned), li.name).toEqual([]);
      expect(li.creatives.length).toBeGreaterThan(0);
      expect(Number.isSafeInteger(li.rateMicros)).toBe(true);
    }
    const kinds = new Set([...creatives.values()].map((c: Creative) => c.kind));
    expect([...kinds].sort()).toEqual(['html', 'image', 'native', 'vast']);
  });

  it('stores real PNG banners of the right size as assets', async () => {
    const images = (await all('creative')).filter((c) => c.kind === 'image');
    expect(images.length).toBeGreaterThanOrEqual(5);
    for (const c of images) {
      const asset = await store.assets.get(c.assetId!);
      expect(asset).toMatchObject({ kind: 'image', contentType: 'image/png', width: c.width, height: c.height });
      const bytes = await blobs.get(`${asset!.sha256}.png`);
      expect(imageSize(bytes!)).toMatchObject({ width: c.width, height: c.height, type: 'png' });
    }
  });

  it('creates the demo users with their documented passwords and tenants', async () => {
    const adv = await store.credentials.findUserByEmail(DEMO_USERS.advertiser.email);
    const pub = await store.credentials.findUserByEmail(DEMO_USERS.publisher.email);
    expect(adv?.role).toBe('advertiser');
    expect(pub?.role).toBe('publisher');
    expect(await verifyPassword(adv!.passwordHash!, DEMO_USERS.advertiser.password)).toBe(true);
    expect(await verifyPassword(pub!.passwordHash!, DEMO_USERS.publisher.password)).toBe(true);
    const [skyward] = await store.repos.advertiser.getMany(adv!.advertiserIds, ALL);
    expect(skyward?.name).toBe('Skyward Airlines');
  });

  it('goes through the repositories (audit log and change feed see it) and is idempotent', async () => {
    const before = await store.feed.readSince(0, 10_000);
    expect(before.length).toBeGreaterThan(30);
    const audit = await store.audit.list({ kind: 'lineItem', limit: 100 });
    expect(audit.items.length).toBe((await all('lineItem')).length);
    await loadDemoData(store, actor, { blobs });
    expect((await store.feed.readSince(0, 10_000)).length).toBe(before.length);
  });
});
