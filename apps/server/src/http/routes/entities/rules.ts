/**
 * Business rules of the management API: the core's validation rules plus the ones that need the
 * store (parents exist and are visible to the caller, tenants never change, approval is the
 * network's call). Neighbours are always loaded in the caller's scope, so a rule can never reveal a
 * row the caller cannot see: "no such campaign" reads the same whether it is missing or someone else's.
 */
import {
  type Campaign,
  type Creative,
  type Issue,
  type LineItem,
  type Placement,
  pinnedPlacementIds,
  validateCampaign,
  validateCreative,
  validateLineItem,
  validateLineItemRelations,
  validatePlacement,
} from '@marquee/core';
import type { AnyEntity, Scope, Store } from '@marquee/store';
import { MarqueeError } from '../../errors.ts';
import type { Principal } from '../../principal.ts';

export type Row = Record<string, unknown>;

export interface RuleInput {
  /** The entity as it will be written (create: body with defaults; update: current merged with the patch). */
  readonly next: Row;
  /** The stored entity, on update. */
  readonly current: AnyEntity | undefined;
  /** The fields the caller sent (create: the body; update: the patch). */
  readonly sent: Row;
  readonly store: Store;
  readonly scope: Scope;
  readonly principal: Principal;
}

/** Adjusts `next` (derived fields), returns rule violations (422), throws MarqueeError for 403s. */
export type Rules = (input: RuleInput) => Promise<Issue[]>;

const isAdmin = (p: Principal) => p.role === 'admin';

const notFound = (path: string, what: string): Issue => ({ path, message: `no such ${what}`, code: 'not_found' });

async function advertiserVisible(input: RuleInput, path = '/advertiserId'): Promise<Issue[]> {
  const id = input.next.advertiserId;
  if (typeof id !== 'string') return [];
  return (await input.store.repos.advertiser.get(id, input.scope)) ? [] : [notFound(path, 'advertiser')];
}

const forbidden = (path: string, message: string) =>
  new MarqueeError('MQ_ERR_FORBIDDEN', message, [{ path, message, code: 'forbidden' }]);

const noRules: Rules = async () => [];

const campaignRules: Rules = async (input) => [
  ...validateCampaign(input.next as Partial<Campaign>),
  ...(await advertiserVisible(input)),
];

const lineItemRules: Rules = async (input) => {
  const { next, store, scope } = input;
  const campaign =
    typeof next.campaignId === 'string' ? await store.repos.campaign.get(next.campaignId, scope) : undefined;
  // The advertiser is the campaign's: derived when absent, checked (wrong_owner) when given.
  if (next.advertiserId === undefined && campaign) next.advertiserId = campaign.advertiserId;
  if (next.startAt === undefined) next.startAt = new Date().toISOString();
  const li = next as unknown as LineItem;
  const creativeIds = Array.isArray(li.creatives) ? li.creatives.map((c) => c.creativeId) : [];
  const creatives = new Map<string, Creative>();
  if (creativeIds.length > 0) {
    for (const c of await store.repos.creative.getMany(creativeIds, scope)) creatives.set(c.id, c);
  }
  // Pinned placements are loaded in the caller's scope too: an advertiser's user cannot see
  // publisher rows, so the fit check runs for admins and is skipped (not leaked) for tenants.
  const pinned = pinnedPlacementIds(li.targeting ?? null).slice(0, 200);
  const placements: Placement[] = pinned.length > 0 ? await store.repos.placement.getMany(pinned, scope) : [];
  return [...validateLineItem(li), ...validateLineItemRelations(li, campaign, creatives, placements)];
};

/** Fields whose change means the ad itself changed: an approved or rejected creative goes back to review. */
const CREATIVE_CONTENT = [
  'kind',
  'format',
  'width',
  'height',
  'clickUrl',
  'assetId',
  'imageUrl',
  'html',
  'native',
  'video',
  'categories',
] as const;

const FORMAT_OF_KIND: Readonly<Record<string, string>> = {
  image: 'banner',
  html: 'banner',
  native: 'native',
  vast: 'video',
};

const creativeRules: Rules = async (input) => {
  const { next, current, sent, principal, store } = input;
  if (next.format === undefined && typeof next.kind === 'string') next.format = FORMAT_OF_KIND[next.kind];
  if (!isAdmin(principal)) {
    const before = (current as Creative | undefined)?.approval ?? 'pending';
    if (sent.approval !== undefined && sent.approval !== before) {
      throw forbidden('/approval', 'only the network (an admin) approves or rejects creatives');
    }
    if (current && before !== 'pending') {
      const changed = CREATIVE_CONTENT.some(
        (f) => f in sent && JSON.stringify(sent[f] ?? null) !== JSON.stringify((current as Row)[f] ?? null),
      );
      if (changed) next.approval = 'pending';
    }
  }
  const issues = [...validateCreative(next as Partial<Creative>), ...(await advertiserVisible(input))];
  if (typeof next.assetId === 'string') {
    const asset = await store.assets.get(next.assetId);
    // Another advertiser's asset reads as missing: its existence is not ours to reveal.
    if (!asset || asset.advertiserId !== next.advertiserId) {
      issues.push({ path: '/assetId', message: 'no such asset for this advertiser', code: 'not_found' });
    } else if (next.kind === 'image') {
      if (asset.kind !== 'image') {
        issues.push({ path: '/assetId', message: 'an image creative needs an image asset', code: 'wrong_kind' });
      } else if (asset.width !== next.width || asset.height !== next.height) {
        issues.push({
          path: '/width',
          message: `the asset is ${asset.width}x${asset.height} pixels but the creative says ${String(next.width)}x${String(next.height)}`,
          code: 'dimension_mismatch',
        });
      }
    } else if (next.kind === 'html') {
      if (asset.kind !== 'html5') {
        issues.push({ path: '/assetId', message: 'an HTML creative needs an HTML5 bundle asset', code: 'wrong_kind' });
      }
    } else {
      issues.push({ path: '/assetId', message: `a ${String(next.kind)} creative takes no asset`, code: 'unexpected' });
    }
  }
  return issues;
};

const publisherRules: Rules = async ({ sent, current, principal }) => {
  // A publisher may edit its own name and blocks, but its revenue share is the network's deal.
  if (!isAdmin(principal) && current && 'revenueShareBps' in sent) {
    if (sent.revenueShareBps !== (current as Row).revenueShareBps) {
      throw forbidden('/revenueShareBps', 'only the network (an admin) changes a revenue share');
    }
  }
  return [];
};

const siteRules: Rules = async ({ next, store, scope }) => {
  if (typeof next.publisherId !== 'string') return [];
  return (await store.repos.publisher.get(next.publisherId, scope)) ? [] : [notFound('/publisherId', 'publisher')];
};

const placementRules: Rules = async ({ next, store, scope }) => {
  const issues = validatePlacement(next as Partial<Placement>);
  const site = typeof next.siteId === 'string' ? await store.repos.site.get(next.siteId, scope) : undefined;
  if (!site) return [...issues, notFound('/siteId', 'site')];
  // The publisher is the site's: derived when absent, checked when given.
  if (next.publisherId === undefined) next.publisherId = site.publisherId;
  if (next.publisherId !== site.publisherId) {
    issues.push({ path: '/siteId', message: 'site belongs to another publisher', code: 'wrong_owner' });
  }
  return issues;
};

const audienceRules: Rules = async (input) => {
  if (input.next.advertiserId === null && !isAdmin(input.principal) && !input.current) {
    throw forbidden('/advertiserId', 'only the network (an admin) creates network-wide audiences');
  }
  return advertiserVisible(input);
};

export const RULES: Readonly<Record<string, Rules>> = {
  advertiser: noRules,
  campaign: campaignRules,
  lineItem: lineItemRules,
  creative: creativeRules,
  publisher: publisherRules,
  site: siteRules,
  placement: placementRules,
  audience: audienceRules,
};
