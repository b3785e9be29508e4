/**
 * The rules a trafficker expects, in one place. Schemas check shapes; these check meaning.
 * Each rule returns issues with a JSON-pointer-like path so the API and the dashboard can
 * show the message beside the field it is about.
 */
import type { Campaign, Creative, LineItem, Placement } from './entities.ts';
import {
  DEVICE_TYPES,
  isAnd,
  isNot,
  isOr,
  TARGETING_MAX_DEPTH,
  TARGETING_MAX_NODES,
  type TargetingNode,
} from './targeting.ts';

export interface Issue {
  readonly path: string;
  readonly message: string;
  readonly code: string;
}

const timeZoneCache = new Map<string, boolean>();
export function isValidTimeZone(tz: string): boolean {
  let ok = timeZoneCache.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      ok = true;
    } catch {
      ok = false;
    }
    if (timeZoneCache.size < 1000) timeZoneCache.set(tz, ok);
  }
  return ok;
}

function checkFlight(startAt: string | undefined, endAt: string | null | undefined, issues: Issue[]): void {
  if (startAt && endAt && Date.parse(endAt) <= Date.parse(startAt)) {
    issues.push({ path: '/endAt', message: 'must be after startAt', code: 'end_before_start' });
  }
}

function checkBudgets(daily: number | null | undefined, lifetime: number | null | undefined, issues: Issue[]): void {
  if (daily != null && lifetime != null && daily > lifetime) {
    issues.push({
      path: '/dailyBudgetMicros',
      message: 'daily budget cannot exceed the lifetime budget',
      code: 'daily_over_lifetime',
    });
  }
}

export function validateCampaign(c: Partial<Campaign>): Issue[] {
  const issues: Issue[] = [];
  checkFlight(c.startAt, c.endAt, issues);
  checkBudgets(c.dailyBudgetMicros, c.lifetimeBudgetMicros, issues);
  return issues;
}

export function validateLineItem(li: LineItem): Issue[] {
  const issues: Issue[] = [];
  checkFlight(li.startAt, li.endAt, issues);
  checkBudgets(li.dailyBudgetMicros, li.lifetimeBudgetMicros, issues);
  if (
    li.dailyImpressionGoal != null &&
    li.lifetimeImpressionGoal != null &&
    li.dailyImpressionGoal > li.lifetimeImpressionGoal
  ) {
    issues.push({
      path: '/dailyImpressionGoal',
      message: 'daily goal cannot exceed the lifetime goal',
      code: 'daily_over_lifetime',
    });
  }
  if (li.dailyClickGoal != null && li.lifetimeClickGoal != null && li.dailyClickGoal > li.lifetimeClickGoal) {
    issues.push({
      path: '/dailyClickGoal',
      message: 'daily goal cannot exceed the lifetime goal',
      code: 'daily_over_lifetime',
    });
  }
  if (!isValidTimeZone(li.timeZone)) {
    issues.push({ path: '/timeZone', message: `unknown time zone "${li.timeZone}"`, code: 'bad_time_zone' });
  }
  if (li.pricingModel === 'flat' && li.endAt == null) {
    issues.push({ path: '/endAt', message: 'a flat-fee line item needs an end date', code: 'flat_needs_end' });
  }
  if (li.priority === 'sponsorship' && li.pricingModel === 'cpa') {
    issues.push({
      path: '/pricingModel',
      message: 'sponsorships are sold by CPM, CPC or flat fee',
      code: 'bad_pricing_for_priority',
    });
  }
  li.dayParting.forEach((d, i) => {
    if (d.endHour <= d.startHour) {
      issues.push({ path: `/dayParting/${i}/endHour`, message: 'must be after startHour', code: 'end_before_start' });
    }
  });
  const seen = new Set<string>();
  li.creatives.forEach((a, i) => {
    if (seen.has(a.creativeId)) {
      issues.push({ path: `/creatives/${i}/creativeId`, message: 'assigned twice', code: 'duplicate' });
    }
    seen.add(a.creativeId);
  });
  const capWindows = new Set<string>();
  li.frequencyCaps.forEach((c, i) => {
    const key = `${c.per}/${c.span ?? 1}`;
    if (capWindows.has(key)) {
      issues.push({ path: `/frequencyCaps/${i}`, message: 'two caps on the same window', code: 'duplicate' });
    }
    capWindows.add(key);
  });
  if (li.targeting) issues.push(...validateTargeting(li.targeting, '/targeting'));
  return issues;
}

/** Rules that need the line item's neighbours: its campaign, its creatives, the placements it pins. */
export function validateLineItemRelations(
  li: LineItem,
  campaign: Campaign | undefined,
  creatives: ReadonlyMap<string, Creative>,
  pinnedPlacements: readonly Placement[],
): Issue[] {
  const issues: Issue[] = [];
  if (!campaign) {
    issues.push({ path: '/campaignId', message: 'no such campaign', code: 'not_found' });
  } else {
    if (campaign.advertiserId !== li.advertiserId) {
      issues.push({ path: '/campaignId', message: 'campaign belongs to another advertiser', code: 'wrong_owner' });
    }
  }
  li.creatives.forEach((a, i) => {
    const c = creatives.get(a.creativeId);
    const path = `/creatives/${i}/creativeId`;
    if (!c) {
      issues.push({ path, message: 'no such creative', code: 'not_found' });
      return;
    }
    if (c.advertiserId !== li.advertiserId) {
      issues.push({ path, message: 'creative belongs to another advertiser', code: 'wrong_owner' });
      return;
    }
    if (c.status === 'archived') issues.push({ path, message: 'creative is archived', code: 'archived' });
    if (pinnedPlacements.length > 0 && !pinnedPlacements.some((p) => creativeFitsPlacement(c, p))) {
      issues.push({
        path,
        message: `creative (${describeCreativeSize(c)}) fits none of the targeted placements`,
        code: 'creative_does_not_fit',
      });
    }
  });
  return issues;
}

export function validateCreative(c: Partial<Creative>): Issue[] {
  const issues: Issue[] = [];
  const need = (field: keyof Creative, why: string) => {
    if (c[field] === undefined) issues.push({ path: `/${field}`, message: `required ${why}`, code: 'required' });
  };
  const expectedFormat = { image: 'banner', html: 'banner', native: 'native', vast: 'video' } as const;
  if (c.kind && c.format && expectedFormat[c.kind] !== c.format) {
    issues.push({
      path: '/format',
      message: `a ${c.kind} creative has format "${expectedFormat[c.kind]}"`,
      code: 'format_mismatch',
    });
  }
  switch (c.kind) {
    case 'image':
      need('width', 'for image creatives');
      need('height', 'for image creatives');
      if (c.assetId === undefined && c.imageUrl === undefined) {
        issues.push({ path: '/imageUrl', message: 'an image creative needs assetId or imageUrl', code: 'required' });
      }
      need('clickUrl', 'for image creatives');
      break;
    case 'html':
      need('width', 'for HTML creatives');
      need('height', 'for HTML creatives');
      if (c.html === undefined && c.assetId === undefined) {
        issues.push({ path: '/html', message: 'an HTML creative needs html or an HTML5 assetId', code: 'required' });
      }
      break;
    case 'native':
      need('native', 'for native creatives');
      need('clickUrl', 'for native creatives');
      break;
    case 'vast':
      need('video', 'for video creatives');
      break;
  }
  return issues;
}

function describeCreativeSize(c: Creative): string {
  return c.format === 'banner' ? `${c.width}x${c.height}` : c.format;
}

/** A creative fits a placement when the placement takes its format and, for banners, its exact size. */
export function creativeFitsPlacement(c: Creative, p: Placement): boolean {
  if (!p.formats.includes(c.format)) return false;
  if (c.format === 'banner') return p.sizes.some((s) => s.w === c.width && s.h === c.height);
  if (c.format === 'video' && p.video && c.video) {
    return (
      c.video.durationSec >= p.video.minDurationSec &&
      c.video.durationSec <= p.video.maxDurationSec &&
      p.video.mimeTypes.includes(c.video.mimeType)
    );
  }
  return true;
}

export function validatePlacement(p: Partial<Placement>): Issue[] {
  const issues: Issue[] = [];
  if (p.formats?.includes('banner') && (p.sizes?.length ?? 0) === 0) {
    issues.push({ path: '/sizes', message: 'a banner placement needs at least one size', code: 'required' });
  }
  if (p.formats?.includes('video') && !p.video) {
    issues.push({ path: '/video', message: 'a video placement needs video settings', code: 'required' });
  }
  if (p.video && p.video.maxDurationSec < p.video.minDurationSec) {
    issues.push({ path: '/video/maxDurationSec', message: 'must be at least minDurationSec', code: 'range' });
  }
  return issues;
}

const COUNTRY = /^[A-Z]{2}$/;
const REGION = /^[A-Z]{2}-[A-Z0-9]{1,3}$/;

/** Structural and semantic checks of a targeting tree: depth, size, value ranges per dimension. */
export function validateTargeting(root: TargetingNode, basePath = ''): Issue[] {
  const issues: Issue[] = [];
  let nodes = 0;
  const walk = (n: TargetingNode, path: string, depth: number): void => {
    nodes++;
    if (depth > TARGETING_MAX_DEPTH) {
      issues.push({ path, message: `nested deeper than ${TARGETING_MAX_DEPTH}`, code: 'too_deep' });
      return;
    }
    if (nodes > TARGETING_MAX_NODES) {
      if (nodes === TARGETING_MAX_NODES + 1) {
        issues.push({ path, message: `more than ${TARGETING_MAX_NODES} nodes`, code: 'too_large' });
      }
      return;
    }
    if (isAnd(n)) {
      n.and.forEach((c, i) => walk(c, `${path}/and/${i}`, depth + 1));
      return;
    }
    if (isOr(n)) {
      n.or.forEach((c, i) => walk(c, `${path}/or/${i}`, depth + 1));
      return;
    }
    if (isNot(n)) {
      walk(n.not, `${path}/not`, depth + 1);
      return;
    }
    const bad = (i: number, why: string) =>
      issues.push({ path: `${path}/values/${i}`, message: why, code: 'bad_value' });
    if (n.dimension === 'kv' && !n.key)
      issues.push({ path: `${path}/key`, message: 'kv needs a key', code: 'required' });
    if (n.dimension !== 'kv' && n.key !== undefined) {
      issues.push({ path: `${path}/key`, message: 'only kv predicates take a key', code: 'unexpected' });
    }
    n.values.forEach((v, i) => {
      switch (n.dimension) {
        case 'hour':
          if (typeof v !== 'number' || v < 0 || v > 23) bad(i, 'hour is an integer 0-23');
          break;
        case 'weekday':
          if (typeof v !== 'number' || v < 0 || v > 6) bad(i, 'weekday is an integer 0 (Sunday) - 6');
          break;
        case 'country':
          if (typeof v !== 'string' || !COUNTRY.test(v)) bad(i, 'country is an ISO 3166-1 alpha-2 code, e.g. "US"');
          break;
        case 'region':
          if (typeof v !== 'string' || !REGION.test(v)) bad(i, 'region is an ISO 3166-2 code, e.g. "US-CA"');
          break;
        case 'device':
          if (typeof v !== 'string' || !(DEVICE_TYPES as readonly string[]).includes(v)) {
            bad(i, `device is one of ${DEVICE_TYPES.join(', ')}`);
          }
          break;
        default:
          if (typeof v !== 'string') bad(i, 'expected a string');
      }
    });
  };
  walk(root, basePath, 1);
  return issues;
}

/** Placement ids a targeting tree requires (a top-level predicate or one inside a top-level AND). */
export function pinnedPlacementIds(root: TargetingNode | null): string[] {
  if (!root) return [];
  if ('dimension' in root) return root.dimension === 'placement' ? root.values.map(String) : [];
  if (isAnd(root)) return root.and.flatMap((c) => ('dimension' in c ? pinnedPlacementIds(c) : []));
  return [];
}
