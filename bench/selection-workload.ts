/**
 * A synthetic but realistic network for the selection benchmark: publishers, sites and placements
 * with the common IAB sizes, advertisers with campaigns, creatives and line items whose targeting
 * mixes inventory pins, geo lists, device, keyword sets, categories, key-values, segments, NOT
 * clauses, ORs and day-parts, with Zipf-distributed values (a few countries, keywords and sites take
 * most of the traffic and most of the targeting).
 */
import type { Creative, LineItem, Placement, Publisher, Site, TargetingNode } from '@marquee/core';
import * as f from '../packages/decision/src/fixtures.ts';
import type { DecisionRequest } from '../packages/decision/src/index.ts';
import { mulberry32, type Rng } from '../packages/decision/src/rng.ts';
import type { Snapshot } from '../packages/store/src/ports.ts';

class Zipf {
  private readonly cdf: Float64Array;
  constructor(
    private readonly values: readonly string[],
    s = 1.07,
  ) {
    this.cdf = new Float64Array(values.length);
    let sum = 0;
    for (let i = 0; i < values.length; i++) {
      sum += 1 / (i + 1) ** s;
      this.cdf[i] = sum;
    }
    for (let i = 0; i < values.length; i++) this.cdf[i]! /= sum;
  }
  pick(rng: Rng): string {
    const r = rng();
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    return this.values[lo]!;
  }
  /** n distinct values (fewer if the draws keep repeating). */
  some(rng: Rng, n: number): string[] {
    const out = new Set<string>();
    for (let i = 0; i < n * 3 && out.size < n; i++) out.add(this.pick(rng));
    return [...out];
  }
}

const COUNTRIES =
  'US GB DE FR IN BR CA JP IT ES AU MX NL PL TR ID KR SE CH BE AR RU ZA NG EG SA AE PH VN TH MY SG NZ IE AT DK NO FI PT GR CZ RO HU IL CL CO PE UA PK BD KE MA DZ TW HK'.split(
    ' ',
  );
const REGIONS: Record<string, string[]> = {
  US: ['US-CA', 'US-TX', 'US-NY', 'US-FL', 'US-IL', 'US-PA', 'US-OH', 'US-GA', 'US-WA', 'US-MA'],
  DE: ['DE-BY', 'DE-BE', 'DE-NW', 'DE-HH', 'DE-HE'],
  FR: ['FR-IDF', 'FR-ARA', 'FR-PAC', 'FR-OCC'],
  GB: ['GB-ENG', 'GB-SCT', 'GB-WLS', 'GB-NIR'],
};
const DEVICES = ['mobile', 'desktop', 'tablet', 'ctv'];
const OSES = ['android', 'ios', 'windows', 'macos', 'linux'];
const BROWSERS = ['chrome', 'safari', 'edge', 'firefox', 'samsung'];
const SIZES = [
  [300, 250],
  [728, 90],
  [320, 50],
  [300, 600],
  [160, 600],
  [970, 250],
  [336, 280],
  [468, 60],
] as const;
const ZONES = [
  'UTC',
  'America/New_York',
  'America/Los_Angeles',
  'Europe/London',
  'Europe/Paris',
  'Asia/Kolkata',
  'Asia/Tokyo',
  'Australia/Sydney',
];
const CATEGORIES: string[] = [];
for (let i = 1; i <= 26; i++) {
  CATEGORIES.push(`IAB${i}`);
  for (let j = 1; j <= 6; j++) CATEGORIES.push(`IAB${i}-${j}`);
}
const SECTIONS = [
  'news',
  'sport',
  'finance',
  'tech',
  'travel',
  'food',
  'auto',
  'health',
  'style',
  'games',
  'music',
  'film',
  'home',
  'kids',
  'science',
  'politics',
  'weather',
  'jobs',
  'realestate',
  'opinion',
];
const KEYWORDS = Array.from({ length: 5000 }, (_, i) => `kw${i}`);
const SEGMENTS = Array.from({ length: 500 }, (_, i) => `seg${i}`);

export interface Network {
  readonly snapshot: Snapshot;
  readonly requests: DecisionRequest[];
}

export function buildNetwork(lineItemCount: number, requestCount: number, seed = 1): Network {
  const rng = mulberry32(seed);
  const chance = (p: number) => rng() < p;
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

  const countries = new Zipf(COUNTRIES, 1.2);
  const keywords = new Zipf(KEYWORDS, 1.0);
  const segments = new Zipf(SEGMENTS, 1.0);
  const categories = new Zipf(CATEGORIES, 0.8);
  const sections = new Zipf(SECTIONS, 1.0);
  const devices = new Zipf(DEVICES, 1.5);
  const sizeKeys = new Zipf(
    SIZES.map((s) => `${s[0]}x${s[1]}`),
    1.2,
  );

  // Inventory scales with the network: 1 site per 10 line items, 3 placements per site, 10 sites per publisher.
  const placementCount = Math.max(60, Math.floor((lineItemCount * 3) / 10));
  const publishers: Publisher[] = [];
  const sites: Site[] = [];
  const placements: Placement[] = [];
  for (let p = 0; p * 30 < placementCount; p++) {
    publishers.push(
      f.publisher(`pub_${p}`, {
        blockedCategories: chance(0.3) ? categories.some(rng, 2).filter((c) => !c.includes('-')) : [],
      }),
    );
    for (let s = 0; s < 10; s++) {
      const siteId = `site_${p}x${s}`;
      sites.push(f.site(siteId, `pub_${p}`, { categories: categories.some(rng, 2) }));
      for (let k = 0; k < 3; k++) {
        const native = chance(0.08);
        const sizes = native ? [] : [...new Set([sizeKeys.pick(rng), sizeKeys.pick(rng)])].map(parseSize);
        placements.push(
          f.placement(`plc_${p}x${s}x${k}`, siteId, `pub_${p}`, {
            formats: native ? ['native'] : ['banner'],
            sizes,
            floorMicros: chance(0.4) ? int(1, 20) * 100_000 : 0,
            auction: chance(0.1) ? 'first_price' : 'second_price',
          }),
        );
      }
    }
  }
  // Traffic concentrates on big sites (Zipf 0.9); sales too, a little less (Zipf 0.7).
  const siteTraffic = new Zipf(
    sites.map((s) => s.id),
    0.9,
  );
  const siteIds = new Zipf(
    sites.map((s) => s.id),
    0.7,
  );
  const placementIds = new Zipf(
    placements.map((p) => p.id),
    0.7,
  );

  const advertiserCount = Math.max(5, Math.floor(lineItemCount / 20));
  const advertisers = Array.from({ length: advertiserCount }, (_, i) => f.advertiser(`adv_${i}`));
  const campaigns = Array.from({ length: advertiserCount * 4 }, (_, i) =>
    f.campaign(`cmp_${i}`, `adv_${i % advertiserCount}`),
  );
  const creatives: Creative[] = [];
  const lineItems: LineItem[] = [];
  for (let i = 0; i < lineItemCount; i++) {
    const cmp = i % campaigns.length;
    const adv = `adv_${cmp % advertiserCount}`;
    const crIds: string[] = [];
    const native = chance(0.08);
    for (let c = int(1, 3); c > 0; c--) {
      const id = `cr_${i}_${c}`;
      if (native) {
        creatives.push(
          f.creative(id, adv, {
            kind: 'native',
            format: 'native',
            width: undefined,
            height: undefined,
            native: { title: 't' },
          }),
        );
      } else {
        const { w, h } = parseSize(sizeKeys.pick(rng));
        creatives.push(
          f.creative(id, adv, { width: w, height: h, categories: chance(0.1) ? [categories.pick(rng)] : [] }),
        );
      }
      crIds.push(id);
    }
    const and: TargetingNode[] = [];
    // Inventory: line items name sites, ad units or publishers (as ad servers require); a few (3%)
    // run across the network.
    const inv = rng();
    if (inv < 0.55) and.push({ dimension: 'site', values: siteIds.some(rng, int(1, 3)) });
    else if (inv < 0.87) and.push({ dimension: 'placement', values: placementIds.some(rng, int(1, 4)) });
    else if (inv < 0.97) and.push({ dimension: 'publisher', values: [`pub_${int(0, publishers.length - 1)}`] });
    const geo = rng();
    if (geo < 0.65) and.push({ dimension: 'country', values: countries.some(rng, int(1, 5)) });
    else if (geo < 0.8) {
      const c = chance(0.6) ? 'US' : (['DE', 'FR', 'GB'] as const)[int(0, 2)]!;
      and.push({ dimension: 'region', values: pickSome(rng, REGIONS[c]!, int(1, 3)) });
    }
    if (chance(0.4)) and.push({ dimension: 'device', values: devices.some(rng, int(1, 2)) });
    if (chance(0.1)) and.push({ dimension: 'os', values: pickSome(rng, OSES, int(1, 2)) });
    if (chance(0.05)) and.push({ dimension: 'browser', values: pickSome(rng, BROWSERS, 1) });
    if (chance(0.25)) and.push({ dimension: 'keyword', values: keywords.some(rng, int(3, 20)) });
    if (chance(0.2)) and.push({ dimension: 'category', values: categories.some(rng, int(1, 3)) });
    if (chance(0.15)) and.push({ dimension: 'kv', key: 'section', values: sections.some(rng, int(1, 3)) });
    if (chance(0.15)) and.push({ dimension: 'segment', values: segments.some(rng, int(1, 3)) });
    if (chance(0.15)) and.push({ not: { dimension: 'keyword', values: keywords.some(rng, int(5, 30)) } });
    if (chance(0.05)) and.push({ not: { dimension: 'site', values: siteIds.some(rng, int(1, 3)) } });
    if (chance(0.03)) and.push({ dimension: 'hour', values: Array.from({ length: 12 }, (_, h) => h + 8) });
    if (chance(0.1)) {
      and.push({
        or: [
          {
            and: [
              { dimension: 'device', values: ['mobile'] },
              { dimension: 'kv', key: 'pos', values: ['atf'] },
            ],
          },
          { dimension: 'segment', values: segments.some(rng, 2) },
        ],
      });
    }
    const pr = rng();
    const priority = pr < 0.05 ? 'sponsorship' : pr < 0.5 ? 'standard' : pr < 0.95 ? 'price_priority' : 'house';
    const pm = rng();
    const pricingModel = priority === 'house' || pm < 0.7 ? 'cpm' : pm < 0.9 ? 'cpc' : 'cpa';
    const rateMicros =
      priority === 'house'
        ? 0
        : pricingModel === 'cpm'
          ? int(5, 300) * 10_000
          : pricingModel === 'cpc'
            ? int(10, 300) * 10_000
            : int(1, 50) * 1_000_000;
    lineItems.push(
      f.lineItem(`li_${i}`, adv, `cmp_${cmp}`, crIds, {
        priority,
        pricingModel,
        rateMicros,
        timeZone: ZONES[int(0, ZONES.length - 1)]!,
        targeting: and.length === 0 ? null : and.length === 1 ? and[0]! : { and },
        dayParting: chance(0.1) ? [{ weekdays: [1, 2, 3, 4, 5], startHour: 7, endHour: 22 }] : [],
        frequencyCaps: chance(0.3) ? [{ count: int(1, 10), per: 'day' }] : [],
      }),
    );
  }

  const byId = new Map(placements.map((p) => [p.id, p]));
  const requests: DecisionRequest[] = [];
  const placementsOfSite = new Map<string, string[]>();
  for (const p of placements) placementsOfSite.set(p.siteId, [...(placementsOfSite.get(p.siteId) ?? []), p.id]);
  for (let r = 0; r < requestCount; r++) {
    const sitePlacements = placementsOfSite.get(siteTraffic.pick(rng))!;
    const pid = sitePlacements[int(0, sitePlacements.length - 1)]!;
    const country = countries.pick(rng);
    const device = devices.pick(rng);
    const regions = REGIONS[country];
    requests.push({
      placements: [{ placementId: pid }],
      userKey: `u${int(1, 1_000_000)}`,
      country,
      region: regions ? regions[int(0, regions.length - 1)] : undefined,
      device,
      os: device === 'desktop' ? pickSome(rng, ['windows', 'macos', 'linux'], 1)[0] : chance(0.6) ? 'android' : 'ios',
      browser: pickSome(rng, BROWSERS, 1)[0],
      keywords: keywords.some(rng, int(3, 10)),
      categories: chance(0.5) ? categories.some(rng, int(1, 2)) : [],
      segments: segments.some(rng, int(0, 4)),
      kv: { section: sections.pick(rng), pos: chance(0.5) ? 'atf' : 'btf' },
    });
    if (!byId.has(pid)) throw new Error('bad placement');
  }
  return {
    snapshot: f.storeSnapshot({ advertisers, campaigns, creatives, lineItems, publishers, sites, placements }),
    requests,
  };
}

function parseSize(key: string): { w: number; h: number } {
  const [w, h] = key.split('x').map(Number);
  return { w: w!, h: h! };
}

function pickSome<T>(rng: Rng, xs: readonly T[], n: number): T[] {
  const out = new Set<T>();
  while (out.size < Math.min(n, xs.length)) out.add(xs[Math.floor(rng() * xs.length)]!);
  return [...out];
}
