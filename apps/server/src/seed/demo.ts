/**
 * Demo data: a small, realistic network loaded on first start (config.loadDemoData) so a new install
 * has something to look at and serve. Everything goes through the store's repositories, so the audit
 * log and the change feed see it like any other change. Idempotent: does nothing unless the store
 * has no advertiser and no publisher yet.
 */
import {
  type Advertiser,
  type Audience,
  type Campaign,
  type Creative,
  type LineItem,
  MICROS_PER_UNIT,
  type Placement,
  type Publisher,
  type Site,
  type TargetingNode,
  type User,
} from '@marquee/core';
import { type Actor, ALL, type EntityKind, type EntityTypes, type Store, type Writable } from '@marquee/store';
import { createAssetService } from '../assets/asset-service.ts';
import type { BlobStorage } from '../assets/blob-storage.ts';
import { hashPassword } from '../http/auth/passwords.ts';
import { type BannerDesign, renderBanner } from './banner-image.ts';

export interface DemoOptions {
  /** Where banner images go; without it, image banners are replaced by HTML banners. */
  readonly blobs?: BlobStorage;
  /** Absolute base of asset URLs used inside native creatives. Default http://localhost:8080. */
  readonly publicUrl?: string;
  /** "Today" for flight dates (tests pin it). */
  readonly now?: Date;
}

/** Demo logins (documented in docs/api/management.md; change or archive them on a real install). */
export const DEMO_USERS = {
  advertiser: { email: 'trafficker@skyward.example', password: 'demo-skyward-2025', name: 'Sky Trafficker' },
  publisher: { email: 'ops@dailycourier.example', password: 'demo-courier-2025', name: 'Courier Ad Ops' },
} as const;

/**
 * A public sample MP4 (15 s, 1280x720, from Google's IMA/Chromecast samples bucket): Marquee does
 * not ship a video encoder, so the demo VAST creative points at this stable public file.
 */
export const DEMO_VIDEO_URL = 'https://commondatastorage.googleapis.com/gtv-videos-bucket/sample/ForBiggerBlazes.mp4';

const usd = (units: number) => Math.round(units * MICROS_PER_UNIT);
const DAY = 86_400_000;

export async function loadDemoData(store: Store, actor: Actor, options: DemoOptions = {}): Promise<void> {
  if (!(await isFreshNetwork(store))) return;
  const now = options.now ?? new Date();
  const publicUrl = (options.publicUrl ?? 'http://localhost:8080').replace(/\/$/, '');
  const at = (days: number) => new Date(Math.floor(now.getTime() / DAY) * DAY + days * DAY).toISOString();

  const create = async <K extends EntityKind>(kind: K, fields: Writable<EntityTypes[K]>): Promise<EntityTypes[K]> => {
    const repo = store.repos[kind];
    const result = await repo.create(fields, actor);
    if (result.kind !== 'ok')
      throw new Error(`demo data: could not create ${kind} "${nameOf(fields)}": ${result.kind}`);
    return result.entity;
  };

  // ---------------- publishers, sites, placements ----------------
  const courier = await create('publisher', publisher('Daily Courier', 'dailycourier.example', 7000));
  const recipes = await create('publisher', publisher('Weeknight Recipes', 'weeknightrecipes.example', 6500));

  const courierWeb = await create(
    'site',
    site(courier, 'Daily Courier — web', 'site', 'dailycourier.example', ['IAB12']),
  );
  const recipesWeb = await create(
    'site',
    site(recipes, 'Weeknight Recipes — web', 'site', 'weeknightrecipes.example', ['IAB8']),
  );
  const recipesApp = await create('site', {
    ...site(recipes, 'Weeknight Recipes — iOS app', 'app', undefined, ['IAB8']),
    bundle: 'com.weeknightrecipes.app',
  });

  const banner = (s: Site, name: string, sizes: [number, number][], floorUnits = 0.5): Writable<Placement> => ({
    publisherId: s.publisherId,
    siteId: s.id,
    name,
    status: 'active',
    formats: ['banner'],
    sizes: sizes.map(([w, h]) => ({ w, h })),
    floorMicros: usd(floorUnits),
    currency: 'USD',
    auction: 'first_price',
    allowSameAdvertiser: false,
  });
  const homeLeaderboard = await create('placement', banner(courierWeb, 'Homepage leaderboard', [[728, 90]], 1.5));
  await create('placement', banner(courierWeb, 'Article MPU', [[300, 250]], 1));
  await create(
    'placement',
    banner(
      courierWeb,
      'Article sidebar',
      [
        [160, 600],
        [300, 600],
      ],
      1.2,
    ),
  );
  await create('placement', banner(courierWeb, 'Mobile sticky footer', [[320, 50]], 0.4));
  await create('placement', {
    ...banner(courierWeb, 'In-feed native', [], 1),
    formats: ['native'],
  });
  await create('placement', {
    ...banner(courierWeb, 'Video pre-roll', [], 8),
    formats: ['video'],
    auction: 'second_price',
    video: { minDurationSec: 15, maxDurationSec: 30, mimeTypes: ['video/mp4'] },
  });
  await create('placement', banner(recipesWeb, 'Recipe page MPU', [[300, 250]], 0.8));
  await create('placement', banner(recipesWeb, 'Recipe page leaderboard', [[728, 90]], 0.8));
  await create('placement', banner(recipesApp, 'App banner', [[320, 50]], 0.3));

  // ---------------- advertisers, audiences ----------------
  const skyward = await create('advertiser', advertiser('Skyward Airlines', 'skyward.example', ['IAB20']));
  const stride = await create('advertiser', advertiser('Stride Sportswear', 'stride.example', ['IAB17']));
  const house = await create('advertiser', {
    ...advertiser('Marquee House Ads', 'marquee.example', []),
    notes: 'The network itself: house ads fill what nothing else buys.',
  });
  const strideVisitors = await create('audience', audience(stride, 'Stride site visitors', 'stride-site-visitors'));
  await create('audience', audience(null, 'Cooking enthusiasts', 'cooking-enthusiasts'));

  // ---------------- creatives ----------------
  const assets = options.blobs ? createAssetService(store, options.blobs, { maxBytes: 10 * 1024 * 1024 }) : undefined;
  const imageCreative = async (adv: Advertiser, name: string, design: BannerDesign, clickUrl: string) => {
    const base = {
      advertiserId: adv.id,
      name,
      status: 'active' as const,
      format: 'banner' as const,
      width: design.width,
      height: design.height,
      clickUrl,
      categories: adv.categories.slice(0, 1),
      approval: 'approved' as const,
    };
    if (!assets) return create('creative', { ...base, kind: 'html', html: htmlBanner(design, clickUrl) });
    const uploaded = await assets.ingest({ advertiserId: adv.id, bytes: renderBanner(design) });
    if (uploaded.kind !== 'ok') throw new Error(`demo data: banner "${name}" refused: ${uploaded.message}`);
    return create('creative', { ...base, kind: 'image', assetId: uploaded.asset.id });
  };

  const sky = { from: [10, 40, 96], to: [32, 124, 204], ink: [255, 255, 255], accent: [255, 196, 0] } as const;
  const skyClick = 'https://skyward.example/deals/lisbon?utm_source=marquee';
  const skyLeader = await imageCreative(
    skyward,
    'Lisbon from $99 — 728x90',
    { ...sky, width: 728, height: 90, headline: 'Fly to Lisbon from $99', cta: 'Book now' },
    skyClick,
  );
  const skyMpu = await imageCreative(
    skyward,
    'Lisbon from $99 — 300x250',
    { ...sky, width: 300, height: 250, headline: 'Fly to Lisbon from $99', cta: 'Book now' },
    skyClick,
  );
  const skySky = await imageCreative(
    skyward,
    'Europe sale — 160x600',
    { ...sky, width: 160, height: 600, headline: 'Europe sale 30% off', cta: 'Fly' },
    skyClick,
  );
  const skyHalf = await imageCreative(
    skyward,
    'Europe sale — 300x600',
    { ...sky, width: 300, height: 600, headline: 'Europe sale 30% off all fares', cta: 'See fares' },
    skyClick,
  );
  const skyHtml = await create('creative', {
    advertiserId: skyward.id,
    name: 'Fare finder (HTML) — 300x250',
    status: 'active',
    kind: 'html',
    format: 'banner',
    width: 300,
    height: 250,
    clickUrl: skyClick,
    html: fareFinderHtml(),
    categories: ['IAB20'],
    approval: 'approved',
  });
  const skyVideo = await create('creative', {
    advertiserId: skyward.id,
    name: 'Skyward brand spot — 15 s',
    status: 'active',
    kind: 'vast',
    format: 'video',
    clickUrl: 'https://skyward.example/?utm_source=marquee&utm_medium=video',
    video: { mediaUrl: DEMO_VIDEO_URL, mimeType: 'video/mp4', durationSec: 15, width: 1280, height: 720 },
    categories: ['IAB20'],
    approval: 'approved',
  });

  const sport = { from: [20, 20, 20], to: [70, 70, 70], ink: [255, 255, 255], accent: [230, 57, 70] } as const;
  const strideClick = 'https://stride.example/running?utm_source=marquee';
  const strideMobile = await imageCreative(
    stride,
    'Run further — 320x50',
    { ...sport, width: 320, height: 50, headline: 'Run further', cta: 'Shop' },
    strideClick,
  );
  const strideMpu = await imageCreative(
    stride,
    'New Pacer 3 — 300x250',
    { ...sport, width: 300, height: 250, headline: 'New Pacer 3 running shoe', cta: 'Shop now' },
    strideClick,
  );
  const strideNative = await create('creative', {
    advertiserId: stride.id,
    name: 'Marathon training plan (native)',
    status: 'active',
    kind: 'native',
    format: 'native',
    clickUrl: 'https://stride.example/plans/marathon?utm_source=marquee&utm_medium=native',
    native: {
      title: 'Your first marathon in 16 weeks',
      body: 'A free training plan from Stride coaches, from the first 5 km to race day.',
      ...(strideMpu.assetId ? { imageUrl: `${publicUrl}${await assetUrl(store, strideMpu.assetId)}` } : {}),
      callToAction: 'Get the plan',
      sponsoredBy: 'Stride Sportswear',
    },
    categories: ['IAB17'],
    approval: 'approved',
  });

  const houseMpu = await create('creative', houseHtml(house, 300, 250));
  const houseLeader = await create('creative', houseHtml(house, 728, 90));
  const houseMobile = await create('creative', houseHtml(house, 320, 50));

  // ---------------- campaigns and line items ----------------
  const skySummer = await create('campaign', {
    advertiserId: skyward.id,
    name: 'Summer in Europe',
    status: 'active',
    startAt: at(-7),
    endAt: at(45),
    lifetimeBudgetMicros: usd(60_000),
    dailyBudgetMicros: usd(2_500),
  });
  const lineItem = (c: Campaign, fields: Partial<Writable<LineItem>> & Pick<LineItem, 'name'>): Writable<LineItem> => ({
    advertiserId: c.advertiserId,
    campaignId: c.id,
    status: 'active',
    priority: 'standard',
    pricingModel: 'cpm',
    rateMicros: usd(2),
    currency: 'USD',
    startAt: at(-7),
    endAt: at(30),
    timeZone: 'UTC',
    lifetimeBudgetMicros: null,
    dailyBudgetMicros: null,
    lifetimeImpressionGoal: null,
    dailyImpressionGoal: null,
    pacing: 'even',
    dayParting: [],
    targeting: null,
    frequencyCaps: [],
    rotation: 'weighted',
    creatives: [],
    allowSameAdvertiser: false,
    ...fields,
  });
  const assign = (...creatives: Creative[]) => creatives.map((c) => ({ creativeId: c.id, weight: 1 }));

  await create(
    'lineItem',
    lineItem(skySummer, {
      name: 'Homepage takeover (sponsorship)',
      priority: 'sponsorship',
      pricingModel: 'flat',
      rateMicros: usd(800), // per day of the flight
      startAt: at(-1),
      endAt: at(6),
      timeZone: 'America/New_York',
      dailyImpressionGoal: 120_000,
      lifetimeImpressionGoal: 840_000,
      targeting: { and: [{ dimension: 'placement', values: [homeLeaderboard.id] }] },
      creatives: assign(skyLeader),
    }),
  );
  await create(
    'lineItem',
    lineItem(skySummer, {
      name: 'Europe routes — desktop & tablet (CPM)',
      rateMicros: usd(4.5),
      lifetimeBudgetMicros: usd(20_000),
      dailyBudgetMicros: usd(1_000),
      targeting: {
        and: [
          { dimension: 'country', values: ['GB', 'FR', 'DE', 'ES', 'PT'] },
          { dimension: 'device', values: ['desktop', 'tablet'] },
          { not: { dimension: 'category', values: ['IAB8'] } },
        ],
      },
      frequencyCaps: [
        { count: 3, per: 'day', span: 1 },
        { count: 10, per: 'week', span: 1 },
      ],
      creatives: [
        { creativeId: skyMpu.id, weight: 3 },
        { creativeId: skyHtml.id, weight: 1 },
        { creativeId: skySky.id, weight: 1 },
        { creativeId: skyHalf.id, weight: 1 },
      ],
    }),
  );
  await create(
    'lineItem',
    lineItem(skySummer, {
      name: 'Brand video pre-roll (CPM)',
      rateMicros: usd(18),
      lifetimeBudgetMicros: usd(15_000),
      dailyBudgetMicros: usd(600),
      pacing: 'frontloaded',
      targeting: { dimension: 'country', values: ['US', 'CA', 'GB'] },
      frequencyCaps: [{ count: 2, per: 'day', span: 1 }],
      creatives: assign(skyVideo),
    }),
  );

  const strideSpring = await create('campaign', {
    advertiserId: stride.id,
    name: 'Spring running',
    status: 'active',
    startAt: at(-14),
    endAt: at(21),
    lifetimeBudgetMicros: usd(25_000),
    dailyBudgetMicros: null,
  });
  const runners: TargetingNode = {
    and: [
      { dimension: 'keyword', values: ['running', 'marathon', 'fitness', 'trainers'] },
      { dimension: 'country', values: ['US', 'GB', 'DE'] },
    ],
  };
  await create(
    'lineItem',
    lineItem(strideSpring, {
      name: 'Runners — commute hours (CPC)',
      priority: 'price_priority',
      pricingModel: 'cpc',
      rateMicros: usd(0.8),
      startAt: at(-14),
      endAt: at(21),
      timeZone: 'Europe/London',
      lifetimeBudgetMicros: usd(12_000),
      dailyBudgetMicros: usd(500),
      pacing: 'even',
      // Weekday mornings and evenings, when people plan their runs.
      dayParting: [
        { weekdays: [1, 2, 3, 4, 5], startHour: 6, endHour: 10 },
        { weekdays: [1, 2, 3, 4, 5], startHour: 17, endHour: 21 },
        { weekdays: [0, 6], startHour: 7, endHour: 12 },
      ],
      targeting: runners,
      frequencyCaps: [
        { count: 5, per: 'day', span: 1 },
        { count: 1, per: 'hour', span: 1 },
      ],
      rotation: 'optimized',
      creatives: assign(strideMobile, strideMpu, strideNative),
    }),
  );
  await create(
    'lineItem',
    lineItem(strideSpring, {
      name: 'Site visitors retargeting (CPM)',
      rateMicros: usd(3),
      startAt: at(-14),
      endAt: at(21),
      lifetimeBudgetMicros: usd(5_000),
      targeting: {
        and: [
          { dimension: 'segment', values: [strideVisitors.key] },
          { dimension: 'device', values: ['mobile', 'tablet'] },
        ],
      },
      frequencyCaps: [{ count: 4, per: 'day', span: 1 }],
      creatives: assign(strideMobile, strideMpu),
    }),
  );
  await create(
    'lineItem',
    lineItem(strideSpring, {
      name: 'Marathon plan sign-ups (CPA)',
      priority: 'price_priority',
      pricingModel: 'cpa',
      rateMicros: usd(12),
      startAt: at(-14),
      endAt: at(21),
      lifetimeBudgetMicros: usd(3_000),
      targeting: { dimension: 'category', values: ['IAB17'] },
      creatives: assign(strideNative),
    }),
  );

  const houseAlways = await create('campaign', {
    advertiserId: house.id,
    name: 'Advertise with us',
    status: 'active',
    startAt: at(-30),
    endAt: null,
    lifetimeBudgetMicros: null,
    dailyBudgetMicros: null,
  });
  await create(
    'lineItem',
    lineItem(houseAlways, {
      name: 'House fill (all placements)',
      priority: 'house',
      rateMicros: 0,
      startAt: at(-30),
      endAt: null,
      allowSameAdvertiser: true,
      creatives: assign(houseMpu, houseLeader, houseMobile),
    }),
  );

  // ---------------- demo users ----------------
  await demoUser(store, actor, 'advertiser', DEMO_USERS.advertiser, [skyward.id], []);
  await demoUser(store, actor, 'publisher', DEMO_USERS.publisher, [], [courier.id]);
}

async function isFreshNetwork(store: Store): Promise<boolean> {
  for (const kind of ['advertiser', 'publisher'] as const) {
    const page = await store.repos[kind].list({ limit: 1, includeArchived: true }, ALL);
    if (page.items.length > 0) return false;
  }
  return true;
}

async function demoUser(
  store: Store,
  actor: Actor,
  role: 'advertiser' | 'publisher',
  who: { email: string; password: string; name: string },
  advertiserIds: string[],
  publisherIds: string[],
): Promise<void> {
  const user: Writable<User> = {
    email: who.email,
    name: who.name,
    status: 'active',
    role,
    advertiserIds,
    publisherIds,
  };
  const result = await store.repos.user.create(user, actor);
  if (result.kind === 'duplicate') return; // an operator already made this account
  if (result.kind !== 'ok') throw new Error(`demo data: could not create user ${who.email}: ${result.kind}`);
  await store.credentials.setPasswordHash(result.entity.id, await hashPassword(who.password), actor);
}

async function assetUrl(store: Store, assetId: string): Promise<string> {
  return (await store.assets.get(assetId))?.url ?? '';
}

function nameOf(fields: unknown): string {
  return String((fields as { name?: unknown; email?: unknown }).name ?? (fields as { email?: unknown }).email);
}

function publisher(name: string, domain: string, revenueShareBps: number): Writable<Publisher> {
  return {
    name,
    status: 'active',
    domain,
    revenueShareBps,
    blockedCategories: ['IAB25', 'IAB26'],
    blockedAdvertiserIds: [],
  };
}

function site(
  p: Publisher,
  name: string,
  kind: 'site' | 'app',
  domain: string | undefined,
  categories: string[],
): Writable<Site> {
  return { publisherId: p.id, name, status: 'active', kind, ...(domain ? { domain } : {}), categories };
}

function advertiser(name: string, domain: string, categories: string[]): Writable<Advertiser> {
  return { name, status: 'active', domain, currency: 'USD', categories };
}

function audience(adv: Advertiser | null, name: string, key: string): Writable<Audience> {
  return {
    advertiserId: adv?.id ?? null,
    name,
    status: 'active',
    key,
    description: adv ? 'Users who visited the advertiser site (added by its pixel)' : 'Network-wide interest segment',
    ttlDays: 30,
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const css = (rgb: readonly number[]) => `rgb(${rgb.join(',')})`;

/** The HTML stand-in for an image banner when no blob storage was given. */
function htmlBanner(d: BannerDesign, clickUrl: string): string {
  return (
    `<a href="${escapeHtml(clickUrl)}" target="_blank" rel="noopener" style="display:flex;align-items:center;` +
    `justify-content:space-around;width:${d.width}px;height:${d.height}px;box-sizing:border-box;` +
    `background:linear-gradient(135deg,${css(d.from)},${css(d.to)});color:${css(d.ink)};font:bold 16px sans-serif;` +
    `text-decoration:none;border:1px solid ${css(d.accent)}">${escapeHtml(d.headline)}` +
    `<span style="background:${css(d.accent)};color:${css(d.from)};padding:4px 8px">${escapeHtml(d.cta)}</span></a>`
  );
}

function fareFinderHtml(): string {
  return [
    '<div style="width:300px;height:250px;box-sizing:border-box;padding:16px;font-family:sans-serif;',
    'background:#0a2860;color:#fff">',
    '<div style="font-weight:bold;font-size:20px">Where next?</div>',
    '<form action="https://skyward.example/search" target="_blank" style="margin-top:12px">',
    '<input name="from" placeholder="From" style="width:100%;margin:4px 0;padding:6px">',
    '<input name="to" placeholder="To" style="width:100%;margin:4px 0;padding:6px">',
    '<button style="margin-top:8px;width:100%;padding:8px;background:#ffc400;border:0;font-weight:bold">',
    'Find fares</button></form></div>',
  ].join('');
}

function houseHtml(house: Advertiser, width: number, height: number): Writable<Creative> {
  const wide = width / height >= 3;
  return {
    advertiserId: house.id,
    name: `Advertise with us — ${width}x${height}`,
    status: 'active',
    kind: 'html',
    format: 'banner',
    width,
    height,
    clickUrl: 'https://marquee.example/advertise',
    html:
      `<div style="width:${width}px;height:${height}px;box-sizing:border-box;display:flex;` +
      `flex-direction:${wide ? 'row' : 'column'};align-items:center;justify-content:center;gap:8px;` +
      'background:#f4f1ea;color:#222;font-family:sans-serif;border:1px solid #ccc">' +
      `<strong style="font-size:${height < 60 ? 14 : 18}px">Your brand here</strong>` +
      '<span style="font-size:12px">Reach our readers — advertise with us</span></div>',
    categories: [],
    approval: 'approved',
  };
}
