/**
 * Builders of store entities with sensible defaults, for tests and the benchmark. Not exported from
 * the package index: import it by path.
 */
import type { Advertiser, Campaign, Creative, LineItem, Placement, Publisher, Site } from '@marquee/core';
import type { Change, EntityKind, Snapshot } from '@marquee/store';

const AT = '2026-01-01T00:00:00.000Z';
const meta = (id: string) => ({ id, version: 1, createdAt: AT, updatedAt: AT });

export const advertiser = (id: string, o: Partial<Advertiser> = {}): Advertiser => ({
  ...meta(id),
  name: id,
  status: 'active',
  currency: 'USD',
  categories: [],
  ...o,
});

export const campaign = (id: string, advertiserId: string, o: Partial<Campaign> = {}): Campaign => ({
  ...meta(id),
  advertiserId,
  name: id,
  status: 'active',
  ...o,
});

export const creative = (id: string, advertiserId: string, o: Partial<Creative> = {}): Creative => ({
  ...meta(id),
  advertiserId,
  name: id,
  status: 'active',
  kind: 'image',
  format: 'banner',
  width: 300,
  height: 250,
  imageUrl: 'https://cdn.example/a.png',
  clickUrl: 'https://advertiser.example/',
  categories: [],
  approval: 'approved',
  ...o,
});

export const lineItem = (
  id: string,
  advertiserId: string,
  campaignId: string,
  creativeIds: readonly string[],
  o: Partial<LineItem> = {},
): LineItem => ({
  ...meta(id),
  advertiserId,
  campaignId,
  name: id,
  status: 'active',
  priority: 'standard',
  pricingModel: 'cpm',
  rateMicros: 2_000_000,
  currency: 'USD',
  startAt: '2026-01-01T00:00:00.000Z',
  endAt: null,
  timeZone: 'UTC',
  lifetimeBudgetMicros: null,
  dailyBudgetMicros: null,
  lifetimeImpressionGoal: null,
  dailyImpressionGoal: null,
  pacing: 'asap',
  dayParting: [],
  targeting: null,
  frequencyCaps: [],
  rotation: 'weighted',
  creatives: creativeIds.map((creativeId) => ({ creativeId, weight: 1 })),
  allowSameAdvertiser: false,
  ...o,
});

export const publisher = (id: string, o: Partial<Publisher> = {}): Publisher => ({
  ...meta(id),
  name: id,
  status: 'active',
  revenueShareBps: 7000,
  blockedCategories: [],
  blockedAdvertiserIds: [],
  ...o,
});

export const site = (id: string, publisherId: string, o: Partial<Site> = {}): Site => ({
  ...meta(id),
  publisherId,
  name: id,
  status: 'active',
  kind: 'site',
  domain: 'news.example',
  categories: [],
  ...o,
});

export const placement = (id: string, siteId: string, publisherId: string, o: Partial<Placement> = {}): Placement => ({
  ...meta(id),
  publisherId,
  siteId,
  name: id,
  status: 'active',
  formats: ['banner'],
  sizes: [{ w: 300, h: 250 }],
  floorMicros: 0,
  currency: 'USD',
  auction: 'second_price',
  allowSameAdvertiser: false,
  ...o,
});

export interface EntitiesInput {
  advertisers?: Advertiser[];
  campaigns?: Campaign[];
  lineItems?: LineItem[];
  creatives?: Creative[];
  publishers?: Publisher[];
  sites?: Site[];
  placements?: Placement[];
}

export function storeSnapshot(e: EntitiesInput, seq = 1): Snapshot {
  return {
    seq,
    network: { name: 'Test network', currency: 'USD', timeZone: 'UTC' },
    entities: {
      advertiser: e.advertisers ?? [],
      campaign: e.campaigns ?? [],
      lineItem: e.lineItems ?? [],
      creative: e.creatives ?? [],
      publisher: e.publishers ?? [],
      site: e.sites ?? [],
      placement: e.placements ?? [],
      audience: [],
      user: [],
    },
  };
}

export function change<T extends { id: string }>(seq: number, kind: EntityKind, entity: T): Change {
  return { seq, kind, id: entity.id, op: 'update', entity, at: AT };
}
