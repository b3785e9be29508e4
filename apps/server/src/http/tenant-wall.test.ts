/**
 * THE TENANT WALL. Every registered route is either public by design (PUBLIC_ROUTES, with the reason)
 * or has an entry in ATTACKS saying how a tenant would try to reach another tenant's rows through it.
 * Acting as the user of advertiser A and the user of publisher P, each attack reads, lists, updates,
 * archives and bulk-changes the rows of advertiser B / publisher Q and expects a refusal (403/404), or,
 * for lists and "my own" routes, an answer without any of B's or Q's data. Afterwards B's and Q's rows
 * must be exactly as before.
 *
 * Adding a route without adding it here fails the coverage test: decide how it could leak, write the
 * attack (or, for a public route, add it to PUBLIC_ROUTES with the reason).
 */
import { encodeEvents } from '@marquee/events';
import { ALL, type EntityKind } from '@marquee/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes, trackingOf } from '../app.ts';
import { encodePng } from '../assets/encode-png.ts';
import { createTestApp, type TestApp, type TestBackend, type TestUser } from '../testing/test-app.ts';
import { ENTITY_DEFINITIONS, type EntityDefinition, type ManagedKind } from './routes/entities/definitions.ts';

/** Routes anyone may call: they hold no tenant data. HEAD routes follow their GET. */
const PUBLIC_ROUTES: Record<string, string> = {
  'OPTIONS *': 'CORS preflight',
  'GET /health': 'liveness, no data',
  'GET /ready': 'readiness, no data',
  'GET /metrics': 'Prometheus counters, no tenant data',
  'GET /api/openapi.json': 'the API description',
  'POST /api/v1/auth/login': 'sign-in (throttled, tested in auth tests)',
  'GET /assets/:file': 'content-addressed creative files: the sha256 is the capability, no tenant metadata',
  'GET /assets/:sha/*': 'files of content-addressed HTML5 bundles, same as above',
  // Serving: answers from the in-memory snapshot with the winning ad only, which a page shows anyway.
  'POST /v1/decisions': 'public decision API (ads for a page)',
  'GET /v1/vast': 'public VAST endpoint for video players',
  'GET /marquee.js': 'the web tag script',
  'GET /demo': 'demo page rendering the placements with the tag',
  'GET /': 'the dashboard page (static; its data comes from the API, which is attacked here)',
  'GET /*': 'the dashboard page for client-side routes (static, same as GET /)',
  'GET /ui/*': "the dashboard's built JavaScript and CSS (static, no data)",
};
// Tracking: signed tokens are the capability; the answers are a GIF, a 204 or a redirect, never data.
for (const kind of ['impression', 'viewable', 'custom', 'click']) {
  for (const method of ['GET', 'POST']) PUBLIC_ROUTES[`${method} /t/${kind}/:token`] = 'tracking hit (signed token)';
}
PUBLIC_ROUTES['GET /t/conversion'] = 'conversion pixel: answers a GIF whatever the input';
PUBLIC_ROUTES['POST /v1/conversions'] = "conversion postback: authenticated with the advertiser's postback secret";
const PUBLIC_PREFIXES = ['GET /api/docs'];

type Expectation =
  /** 403 or 404. */
  | 'denied'
  /** 403, 404 or 422 (a parent that is not visible reads as "no such parent"). */
  | 'refused'
  /** Any non-5xx status (lists, "my own" routes), but never another tenant's data. */
  | 'filtered';

interface Probe {
  readonly as: 'adv' | 'pub' | 'advFresh' | 'pubFresh';
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly payload?: unknown;
  readonly multipart?: { advertiserId: string };
  readonly expect: Expectation;
}

interface World {
  /** Rows of the victims (advertiser B, publisher Q), by entity kind. */
  readonly victim: Record<ManagedKind, { id: string; version: number; tenant: string }>;
  readonly victimTenant: { advertiser: string; publisher: string };
  readonly victimUser: string;
  readonly victimKey: string;
  readonly victimAsset: string;
}

const SIDE_ATTACKER = { advertiser: 'adv', publisher: 'pub' } as const;
const OTHER_ATTACKER = { advertiser: 'pub', publisher: 'adv' } as const;

/** A valid create body for `d` that names the victim's tenant (or the victim's parent). */
function createBody(d: EntityDefinition, w: World): Record<string, unknown> {
  const B = w.victimTenant.advertiser;
  const Q = w.victimTenant.publisher;
  switch (d.kind) {
    case 'advertiser':
    case 'publisher':
      return { name: 'Intruder' };
    case 'campaign':
      return { advertiserId: B, name: 'Intruder' };
    case 'lineItem':
      return { advertiserId: B, campaignId: w.victim.campaign.id, name: 'Intruder', rateMicros: 1 };
    case 'creative':
      return { advertiserId: B, name: 'Intruder', kind: 'html', width: 1, height: 1, html: 'x' };
    case 'site':
      return { publisherId: Q, name: 'Intruder' };
    case 'placement':
      return { publisherId: Q, siteId: w.victim.site.id, name: 'Intruder', sizes: [{ w: 1, h: 1 }] };
    case 'audience':
      return { advertiserId: B, name: 'Intruder', key: 'intruder' };
  }
}

/** Attacks on one entity's routes, from the same side (another tenant) and the other side. */
function entityAttacks(d: EntityDefinition): Record<string, (w: World) => Probe[]> {
  const base = `/api/v1/${d.plural}`;
  const same = SIDE_ATTACKER[d.side];
  const other = OTHER_ATTACKER[d.side];
  const both = [same, other] as const;
  const victim = (w: World) => w.victim[d.kind];
  return {
    [`GET ${base}`]: (w) => [
      { as: same, method: 'GET', url: `${base}?includeArchived=true&limit=500`, expect: 'filtered' },
      ...(d.tenantField !== 'id'
        ? [
            {
              as: same,
              method: 'GET',
              url: `${base}?${d.tenantField}=${victim(w).tenant}`,
              expect: 'filtered',
            } as Probe,
          ]
        : []),
      { as: same, method: 'GET', url: `${base}?search=VICTIM`, expect: 'filtered' },
      { as: other, method: 'GET', url: base, expect: 'denied' },
    ],
    [`POST ${base}`]: (w) => [
      ...both.map((as): Probe => ({ as, method: 'POST', url: base, payload: createBody(d, w), expect: 'denied' })),
      // Without the tenant field it is derived from the parent, which the attacker cannot see.
      ...(d.kind === 'lineItem' || d.kind === 'placement'
        ? [
            {
              as: same,
              method: 'POST',
              url: base,
              payload: { ...createBody(d, w), [d.tenantField]: undefined },
              expect: 'refused',
            } as Probe,
          ]
        : []),
    ],
    [`GET ${base}/:id`]: (w) =>
      both.flatMap((as): Probe[] => [
        { as, method: 'GET', url: `${base}/${victim(w).id}`, expect: 'denied' },
        { as, method: 'HEAD', url: `${base}/${victim(w).id}`, expect: 'denied' },
      ]),
    [`PATCH ${base}/:id`]: (w) =>
      both.map(
        (as): Probe => ({
          as,
          method: 'PATCH',
          url: `${base}/${victim(w).id}`,
          payload: { name: 'PWNED', version: victim(w).version },
          expect: 'denied',
        }),
      ),
    [`POST ${base}/:id/archive`]: (w) =>
      both.map((as): Probe => ({ as, method: 'POST', url: `${base}/${victim(w).id}/archive`, expect: 'denied' })),
    [`POST ${base}/bulk-status`]: (w) => [
      // 200 with the id reported as not found (the same answer as for an id that does not exist).
      {
        as: same,
        method: 'POST',
        url: `${base}/bulk-status`,
        payload: { ids: [victim(w).id], status: 'archived' },
        expect: 'filtered',
      },
      {
        as: other,
        method: 'POST',
        url: `${base}/bulk-status`,
        payload: { ids: [victim(w).id], status: 'paused' },
        expect: 'denied',
      },
    ],
  };
}

const ATTACKS: Record<string, (w: World) => Probe[]> = {
  ...Object.assign({}, ...ENTITY_DEFINITIONS.map(entityAttacks)),

  // ---------- assets ----------
  'POST /api/v1/assets': (w) =>
    (['adv', 'pub'] as const).map((as) => ({
      as,
      method: 'POST',
      url: '/api/v1/assets',
      multipart: { advertiserId: w.victimTenant.advertiser },
      expect: 'denied',
    })),
  'GET /api/v1/assets': (w) => [
    { as: 'adv', method: 'GET', url: '/api/v1/assets', expect: 'filtered' },
    { as: 'adv', method: 'GET', url: `/api/v1/assets?advertiserId=${w.victimTenant.advertiser}`, expect: 'denied' },
    { as: 'pub', method: 'GET', url: '/api/v1/assets', expect: 'denied' },
  ],
  'GET /api/v1/assets/:id': (w) =>
    (['adv', 'pub'] as const).map((as) => ({
      as,
      method: 'GET',
      url: `/api/v1/assets/${w.victimAsset}`,
      expect: 'denied',
    })),

  // ---------- serving diagnostics ----------
  // An advertiser's explain lists its own line items only; a publisher's user may not explain.
  // (The victim's rows are drafts here, so this checks the filtering of the answer, not of live delivery.)
  'POST /api/v1/decisions/explain': (w) => [
    {
      as: 'adv',
      method: 'POST',
      url: '/api/v1/decisions/explain',
      payload: { placements: [{ id: w.victim.placement.id }], keywords: ['VICTIM'] },
      expect: 'filtered',
    },
    {
      as: 'pub',
      method: 'POST',
      url: '/api/v1/decisions/explain',
      payload: { placements: [{ id: w.victim.placement.id }] },
      expect: 'denied',
    },
  ],

  // ---------- tracking: postback secrets and batch ingestion ----------
  'GET /api/v1/advertisers/:id/postback-secret': (w) => [
    {
      as: 'adv',
      method: 'GET',
      url: `/api/v1/advertisers/${w.victimTenant.advertiser}/postback-secret`,
      expect: 'denied',
    },
    {
      as: 'pub',
      method: 'GET',
      url: `/api/v1/advertisers/${w.victimTenant.advertiser}/postback-secret`,
      expect: 'denied',
    },
  ],
  'POST /api/v1/advertisers/:id/postback-secret': (w) => [
    {
      as: 'adv',
      method: 'POST',
      url: `/api/v1/advertisers/${w.victimTenant.advertiser}/postback-secret`,
      expect: 'denied',
    },
    {
      as: 'pub',
      method: 'POST',
      url: `/api/v1/advertisers/${w.victimTenant.advertiser}/postback-secret`,
      expect: 'denied',
    },
  ],
  // A conversion for another advertiser is rejected per event (and never attributed or recorded).
  'POST /api/v1/events': (w) => [
    {
      as: 'adv',
      method: 'POST',
      url: '/api/v1/events',
      payload: [{ kind: 'conversion', advertiserId: w.victimTenant.advertiser, orderId: 'o-1', value: '10' }],
      expect: 'filtered',
    },
  ],

  // ---------- reports (rows of the victims exist in the rollups: see beforeAll) ----------
  'GET /api/v1/reports': (w) => {
    const range = 'from=2026-01-15&to=2026-01-15&timeZone=UTC';
    const all = 'dimensions=advertiser,campaign,line_item,creative,publisher,site,placement';
    return [
      {
        as: 'adv',
        method: 'GET',
        url: `/api/v1/reports?measures=impressions,spend&${all}&${range}`,
        expect: 'filtered',
      },
      {
        as: 'adv',
        method: 'GET',
        url: `/api/v1/reports?measures=impressions&${all}&${range}&filters=advertiser:${w.victimTenant.advertiser}`,
        expect: 'filtered',
      },
      {
        as: 'adv',
        method: 'GET',
        url: `/api/v1/reports?measures=clicks&${all}&${range}&format=csv&filters=line_item:${w.victim.lineItem.id}`,
        expect: 'filtered',
      },
      {
        as: 'pub',
        method: 'GET',
        url: `/api/v1/reports?measures=impressions,revenue&dimensions=publisher,site,placement,advertiser&${range}&filters=publisher:${w.victimTenant.publisher}`,
        expect: 'filtered',
      },
      // Hidden from publishers whatever the filter: the advertiser's line items and its spend.
      {
        as: 'pub',
        method: 'GET',
        url: `/api/v1/reports?measures=spend&dimensions=line_item&${range}`,
        expect: 'denied',
      },
    ];
  },
  'GET /api/v1/events/export': (w) => [
    { as: 'adv', method: 'GET', url: '/api/v1/events/export?from=2026-01-15&to=2026-01-15', expect: 'filtered' },
    { as: 'pub', method: 'GET', url: '/api/v1/events/export?from=2026-01-15&to=2026-01-15', expect: 'filtered' },
    {
      as: 'adv',
      method: 'GET',
      url: `/api/v1/events/export?from=2026-01-15&to=2026-01-15&advertiserId=${w.victimTenant.advertiser}`,
      expect: 'filtered',
    },
  ],
  'GET /api/v1/reports/delivery': (w) => [
    { as: 'adv', method: 'GET', url: '/api/v1/reports/delivery?includeArchived=true', expect: 'filtered' },
    {
      as: 'adv',
      method: 'GET',
      url: `/api/v1/reports/delivery?advertiserId=${w.victimTenant.advertiser}`,
      expect: 'filtered',
    },
    { as: 'pub', method: 'GET', url: '/api/v1/reports/delivery', expect: 'denied' },
  ],

  // ---------- billing (the victims have a payment, an adjustment, a credit limit and posted usage) ----------
  'GET /api/v1/billing/balances': (w) => [
    { as: 'adv', method: 'GET', url: '/api/v1/billing/balances', expect: 'filtered' },
    {
      as: 'adv',
      method: 'GET',
      url: `/api/v1/billing/balances?advertiserId=${w.victimTenant.advertiser}`,
      expect: 'filtered',
    },
    {
      as: 'adv',
      method: 'GET',
      url: `/api/v1/billing/balances?publisherId=${w.victimTenant.publisher}`,
      expect: 'filtered',
    },
    {
      as: 'pub',
      method: 'GET',
      url: `/api/v1/billing/balances?publisherId=${w.victimTenant.publisher}`,
      expect: 'filtered',
    },
    {
      as: 'pub',
      method: 'GET',
      url: `/api/v1/billing/balances?advertiserId=${w.victimTenant.advertiser}`,
      expect: 'filtered',
    },
  ],
  'GET /api/v1/billing/entries': (w) => [
    { as: 'adv', method: 'GET', url: '/api/v1/billing/entries?limit=500', expect: 'filtered' },
    {
      as: 'adv',
      method: 'GET',
      url: `/api/v1/billing/entries?advertiserId=${w.victimTenant.advertiser}`,
      expect: 'filtered',
    },
    {
      as: 'pub',
      method: 'GET',
      url: `/api/v1/billing/entries?publisherId=${w.victimTenant.publisher}`,
      expect: 'filtered',
    },
    { as: 'pub', method: 'GET', url: '/api/v1/billing/entries?kind=usage', expect: 'filtered' },
  ],
  'GET /api/v1/billing/invoices': (w) => [
    {
      as: 'adv',
      method: 'GET',
      url: `/api/v1/billing/invoices?advertiserId=${w.victimTenant.advertiser}&month=2026-01`,
      expect: 'denied',
    },
    {
      as: 'adv',
      method: 'GET',
      url: `/api/v1/billing/invoices?advertiserId=${w.victimTenant.advertiser}&month=2026-01&format=html`,
      expect: 'denied',
    },
    {
      as: 'pub',
      method: 'GET',
      url: `/api/v1/billing/invoices?advertiserId=${w.victimTenant.advertiser}&month=2026-01`,
      expect: 'denied',
    },
    // Its own invoice: the publishers its ads ran on are named, never another advertiser's usage.
    { as: 'adv', method: 'GET', url: '/api/v1/billing/invoices?month=2026-01&format=csv', expect: 'filtered' },
  ],
  'GET /api/v1/billing/statements': (w) => [
    {
      as: 'pub',
      method: 'GET',
      url: `/api/v1/billing/statements?publisherId=${w.victimTenant.publisher}&month=2026-01`,
      expect: 'denied',
    },
    {
      as: 'pub',
      method: 'GET',
      url: `/api/v1/billing/statements?publisherId=${w.victimTenant.publisher}&month=2026-01&format=csv`,
      expect: 'denied',
    },
    {
      as: 'adv',
      method: 'GET',
      url: `/api/v1/billing/statements?publisherId=${w.victimTenant.publisher}&month=2026-01`,
      expect: 'denied',
    },
    { as: 'pub', method: 'GET', url: '/api/v1/billing/statements?month=2026-01&format=html', expect: 'filtered' },
  ],
  'POST /api/v1/billing/payments': (w) =>
    (['adv', 'pub'] as const).flatMap((as): Probe[] => [
      {
        as,
        method: 'POST',
        url: '/api/v1/billing/payments',
        payload: { advertiserId: w.victimTenant.advertiser, amountMicros: 1_000_000, currency: 'USD' },
        expect: 'denied',
      },
      {
        as,
        method: 'POST',
        url: '/api/v1/billing/payments',
        payload: { publisherId: w.victimTenant.publisher, amountMicros: 1_000_000, currency: 'USD' },
        expect: 'denied',
      },
    ]),
  'POST /api/v1/billing/adjustments': (w) =>
    (['adv', 'pub'] as const).flatMap((as): Probe[] => [
      {
        as,
        method: 'POST',
        url: '/api/v1/billing/adjustments',
        payload: {
          advertiserId: w.victimTenant.advertiser,
          amountMicros: -1_000_000,
          currency: 'USD',
          reason: 'free money',
        },
        expect: 'denied',
      },
      {
        as,
        method: 'POST',
        url: '/api/v1/billing/adjustments',
        payload: { publisherId: w.victimTenant.publisher, amountMicros: 1_000_000, currency: 'USD', reason: 'bonus' },
        expect: 'denied',
      },
    ]),
  'PUT /api/v1/billing/credit-limits/:advertiserId': (w) =>
    (['adv', 'pub'] as const).map((as) => ({
      as,
      method: 'PUT',
      url: `/api/v1/billing/credit-limits/${w.victimTenant.advertiser}`,
      payload: { creditLimitMicros: null, currency: 'USD' },
      expect: 'denied',
    })),

  // ---------- auth, users, keys, audit, network (admin-only or "my own") ----------
  'POST /api/v1/auth/logout': () => [
    { as: 'advFresh', method: 'POST', url: '/api/v1/auth/logout', expect: 'filtered' },
    { as: 'pubFresh', method: 'POST', url: '/api/v1/auth/logout', expect: 'filtered' },
  ],
  'GET /api/v1/auth/me': () => [
    { as: 'adv', method: 'GET', url: '/api/v1/auth/me', expect: 'filtered' },
    { as: 'pub', method: 'GET', url: '/api/v1/auth/me', expect: 'filtered' },
  ],
  'POST /api/v1/auth/password': () => [
    {
      as: 'adv',
      method: 'POST',
      url: '/api/v1/auth/password',
      payload: { currentPassword: 'wrong-password', newPassword: 'another-password-1' },
      expect: 'filtered',
    },
  ],
  'GET /api/v1/users': () => [
    { as: 'adv', method: 'GET', url: '/api/v1/users', expect: 'denied' },
    { as: 'pub', method: 'GET', url: '/api/v1/users', expect: 'denied' },
  ],
  'POST /api/v1/users': (w) => [
    {
      as: 'adv',
      method: 'POST',
      url: '/api/v1/users',
      payload: {
        email: 'intruder@example.com',
        name: 'Intruder',
        role: 'advertiser',
        advertiserIds: [w.victimTenant.advertiser],
        password: 'intruder-password-1',
      },
      expect: 'denied',
    },
  ],
  'GET /api/v1/users/:id': (w) => [
    { as: 'adv', method: 'GET', url: `/api/v1/users/${w.victimUser}`, expect: 'denied' },
    { as: 'pub', method: 'GET', url: `/api/v1/users/${w.victimUser}`, expect: 'denied' },
  ],
  'PATCH /api/v1/users/:id': (w) => [
    { as: 'adv', method: 'PATCH', url: `/api/v1/users/${w.victimUser}`, payload: { name: 'PWNED' }, expect: 'denied' },
  ],
  'DELETE /api/v1/users/:id': (w) => [
    { as: 'adv', method: 'DELETE', url: `/api/v1/users/${w.victimUser}`, expect: 'denied' },
  ],
  'POST /api/v1/users/:id/password': (w) => [
    {
      as: 'adv',
      method: 'POST',
      url: `/api/v1/users/${w.victimUser}/password`,
      payload: { password: 'taken-over-password-1' },
      expect: 'denied',
    },
  ],
  'GET /api/v1/api-keys': (w) => [
    { as: 'adv', method: 'GET', url: '/api/v1/api-keys?includeRevoked=true', expect: 'filtered' },
    { as: 'adv', method: 'GET', url: `/api/v1/api-keys?userId=${w.victimUser}`, expect: 'filtered' },
  ],
  'POST /api/v1/api-keys': () => [
    {
      as: 'adv',
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'mine', scope: 'read' },
      expect: 'filtered',
    },
  ],
  'DELETE /api/v1/api-keys/:id': (w) => [
    { as: 'adv', method: 'DELETE', url: `/api/v1/api-keys/${w.victimKey}`, expect: 'denied' },
    { as: 'pub', method: 'DELETE', url: `/api/v1/api-keys/${w.victimKey}`, expect: 'denied' },
  ],
  'GET /api/v1/audit-log': (w) => [
    { as: 'adv', method: 'GET', url: '/api/v1/audit-log', expect: 'denied' },
    { as: 'adv', method: 'GET', url: `/api/v1/audit-log?entityId=${w.victim.lineItem.id}`, expect: 'denied' },
  ],
  'GET /api/v1/network': () => [{ as: 'adv', method: 'GET', url: '/api/v1/network', expect: 'filtered' }],
  'PUT /api/v1/network': () => [
    {
      as: 'pub',
      method: 'PUT',
      url: '/api/v1/network',
      payload: { name: 'PWNED', currency: 'USD', timeZone: 'UTC' },
      expect: 'denied',
    },
  ],
};

function isPublic(key: string): boolean {
  return key in PUBLIC_ROUTES || PUBLIC_PREFIXES.some((p) => key.startsWith(p));
}

const BACKENDS: TestBackend[] = ['pglite', 'postgres'];

describe.each(BACKENDS)('tenant wall (%s)', (backend) => {
  let t: TestApp;
  let world: World;
  let users: Record<Probe['as'], TestUser | { headers: Record<string, string> }>;
  /** Every string that would betray B's or Q's data: ids, names, hashes, emails. */
  const secrets = new Set<string>();
  let before: string;

  const admin = async (method: 'POST' | 'PATCH', url: string, payload: unknown) => {
    const res = await t.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: t.admin.headers,
      payload: payload as object,
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json() as { id: string; version: number; name?: string; sha256?: string };
  };

  /** The victims' rows as the store has them, to prove that nothing changed. */
  async function victimState(): Promise<string> {
    const rows: unknown[] = [];
    for (const kind of Object.keys(world.victim) as ManagedKind[]) {
      rows.push(await t.store.repos[kind as EntityKind].get(world.victim[kind].id, ALL));
    }
    rows.push(await t.store.repos.user.get(world.victimUser, ALL));
    rows.push((await t.store.credentials.listApiKeys(world.victimUser)).map((k) => [k.id, k.status]));
    rows.push(await t.store.network.get());
    rows.push(
      await t.store.billing.balances({
        advertiserIds: [world.victimTenant.advertiser],
        publisherIds: [world.victimTenant.publisher],
      }),
    );
    rows.push(await t.store.billing.creditLimits([world.victimTenant.advertiser]));
    return JSON.stringify(rows);
  }

  beforeAll(async () => {
    t = await createTestApp({ backend });
    const fixtures = async (tag: 'OWN' | 'VICTIM') => {
      // Different pixels per tenant: assets are content-addressed, equal files would share a sha256.
      const png = encodePng(30, 20, () => (tag === 'OWN' ? [200, 0, 0] : [0, 200, 0]));
      const secret = (s: string) => {
        const name = `${tag}-${s}-${Math.random().toString(36).slice(2, 8)}`;
        if (tag === 'VICTIM') secrets.add(name);
        return name;
      };
      const adv = await admin('POST', '/advertisers', { name: secret('advertiser') });
      const campaign = await admin('POST', '/campaigns', { advertiserId: adv.id, name: secret('campaign') });
      const creative = await admin('POST', '/creatives', {
        advertiserId: adv.id,
        name: secret('creative'),
        kind: 'html',
        width: 300,
        height: 250,
        html: '<b>ad</b>',
      });
      const lineItem = await admin('POST', '/line-items', {
        campaignId: campaign.id,
        name: secret('line-item'),
        rateMicros: 1_000_000,
        creatives: [{ creativeId: creative.id }],
      });
      const audience = await admin('POST', '/audiences', {
        advertiserId: adv.id,
        name: secret('audience'),
        key: secret('key').toLowerCase(),
      });
      const pub = await admin('POST', '/publishers', { name: secret('publisher') });
      const site = await admin('POST', '/sites', { publisherId: pub.id, name: secret('site') });
      const placement = await admin('POST', '/placements', {
        siteId: site.id,
        name: secret('placement'),
        sizes: [{ w: 300, h: 250 }],
      });
      const { payload, contentType } = multipartBody({ advertiserId: adv.id }, png);
      const upload = await t.app.inject({
        method: 'POST',
        url: '/api/v1/assets',
        headers: { ...t.admin.headers, 'content-type': contentType },
        payload,
      });
      const asset = upload.json() as { id: string; sha256: string };
      const rows = { advertiser: adv, campaign, lineItem, creative, audience, publisher: pub, site, placement };
      return { adv, pub, asset, rows };
    };
    const own = await fixtures('OWN');
    const victim = await fixtures('VICTIM');
    const tenantOf = (kind: ManagedKind, row: { id: string }) => {
      const d = ENTITY_DEFINITIONS.find((x) => x.kind === kind)!;
      if (d.tenantField === 'id') return row.id;
      return d.side === 'advertiser' ? victim.adv.id : victim.pub.id;
    };
    const victimRows = Object.fromEntries(
      Object.entries(victim.rows).map(([kind, row]) => [
        kind,
        { id: row.id, version: row.version, tenant: tenantOf(kind as ManagedKind, row) },
      ]),
    ) as World['victim'];
    for (const row of Object.values(victim.rows)) secrets.add(row.id);
    secrets.add(victim.asset.id);
    secrets.add(victim.asset.sha256);

    const victimUser = await t.createUser({ role: 'advertiser', advertiserIds: [victim.adv.id] });
    const victimKey = await t.apiKey(victimUser.headers, 'write');
    secrets.add(victimUser.user.id);
    secrets.add(victimUser.user.email);
    secrets.add(victimKey.id);

    const adv = await t.createUser({ role: 'advertiser', advertiserIds: [own.adv.id] });
    const pub = await t.createUser({ role: 'publisher', publisherIds: [own.pub.id] });
    users = {
      adv,
      pub,
      advFresh: { headers: await t.login(adv.user.email, adv.password) },
      pubFresh: { headers: await t.login(pub.user.email, pub.password) },
    };
    world = {
      victim: victimRows,
      victimTenant: { advertiser: victim.adv.id, publisher: victim.pub.id },
      victimUser: victimUser.user.id,
      victimKey: victimKey.id,
      victimAsset: victim.asset.id,
    };
    // Rollup rows of the victims (an impression of B's line item on Q's placement), for the report attacks.
    const v = victim.rows;
    const vrow = {
      hourMs: Date.UTC(2026, 0, 15, 10),
      advertiserId: victim.adv.id,
      campaignId: v.campaign.id,
      lineItemId: v.lineItem.id,
      creativeId: v.creative.id,
      publisherId: victim.pub.id,
      siteId: v.site.id,
      placementId: v.placement.id,
      country: 'FR',
      deviceType: 'desktop',
    };
    const measures = {
      requests: 0,
      impressions: 1,
      viewableImpressions: 0,
      clicks: 1,
      conversions: 0,
      customEvents: 0,
    };
    const money = { events: 2, spendMicros: 2_500, revenueMicros: 1_750, invalidEvents: 0 };
    await t.store.rollups.commit('tenant-wall', '', 'seeded', {
      rows: [{ ...vrow, ...measures, ...money }],
      invalid: [],
      records: 1,
    });
    // Ledger rows of the victims: usage posted from that rollup row, a payment, an adjustment with a secret
    // reason, and a credit limit (for the billing attacks).
    await t.store.billing.postUsage({ throughMs: Date.UTC(2026, 0, 16), lookbackMs: 30 * 86_400_000 });
    const billingSecret = `VICTIM-reason-${Math.random().toString(36).slice(2, 8)}`;
    secrets.add(billingSecret);
    for (const [path, payload] of [
      [
        '/billing/payments',
        { advertiserId: victim.adv.id, amountMicros: 7_000_000, currency: 'USD', reference: billingSecret },
      ],
      [
        '/billing/payments',
        { publisherId: victim.pub.id, amountMicros: 1_000, currency: 'USD', reference: billingSecret },
      ],
      [
        '/billing/adjustments',
        { advertiserId: victim.adv.id, amountMicros: -3_000, currency: 'USD', reason: billingSecret },
      ],
      [
        '/billing/adjustments',
        { publisherId: victim.pub.id, amountMicros: 500, currency: 'USD', reason: billingSecret },
      ],
    ] as const) {
      await admin('POST', path, payload);
    }
    const limit = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/billing/credit-limits/${victim.adv.id}`,
      headers: t.admin.headers,
      payload: { creditLimitMicros: 987_654_321_123, currency: 'USD' },
    });
    if (limit.statusCode !== 200) throw new Error(`credit limit: ${limit.body}`);
    secrets.add('987654321123');
    // And the raw event in the log, for the export attacks.
    await trackingOf(t.app).log.append(
      encodeEvents([
        {
          ...vrow,
          kind: 'impression',
          eventId: `victim-${v.lineItem.id}`,
          decisionId: `victim-${v.lineItem.id}`,
          tsMs: vrow.hourMs,
          priceMicros: 2_500,
          userKey: '',
          verdict: 'valid',
          reason: '',
        },
      ]),
    );
    before = await victimState();
  });
  afterAll(() => t?.close());

  it('covers every registered route: attacked here, or public by design', () => {
    const keys = new Set<string>();
    for (const r of registeredRoutes(t.app)) keys.add(`${r.method} ${r.url}`);
    const needAttack = [...keys].filter((k) => {
      if (isPublic(k)) return false;
      // HEAD is Fastify's automatic twin of GET: same handler, no body.
      if (k.startsWith('HEAD ')) {
        const get = `GET ${k.slice(5)}`;
        return !(isPublic(get) || (keys.has(get) && get in ATTACKS));
      }
      return true;
    });
    const missing = needAttack.filter((k) => !(k in ATTACKS)).sort();
    const stale = Object.keys(ATTACKS)
      .filter((k) => !keys.has(k))
      .sort();
    expect(missing, 'routes without a tenant-wall attack (add them to ATTACKS or PUBLIC_ROUTES)').toEqual([]);
    expect(stale, 'attacks on routes that no longer exist').toEqual([]);
  });

  it('refuses every attack on another tenant and leaks none of its data', async () => {
    const failures: string[] = [];
    let probes = 0;
    for (const [route, attack] of Object.entries(ATTACKS)) {
      for (const p of attack(world)) {
        probes++;
        const headers = { ...users[p.as].headers };
        let payload: string | Buffer | undefined;
        if (p.multipart) {
          const body = multipartBody(
            p.multipart,
            encodePng(8, 8, () => [0, 0, 255]),
          );
          payload = body.payload;
          headers['content-type'] = body.contentType;
        } else if (p.payload !== undefined) {
          payload = JSON.stringify(p.payload);
          headers['content-type'] = 'application/json';
        }
        const res = await t.app.inject({ method: p.method, url: p.url, headers, ...(payload ? { payload } : {}) });
        const sent = `${p.url} ${typeof payload === 'string' ? payload : ''}`;
        const leaked = [...secrets].filter((s) => !sent.includes(s) && res.body.includes(s));
        const status = res.statusCode;
        const ok =
          p.expect === 'denied'
            ? status === 403 || status === 404
            : p.expect === 'refused'
              ? status === 403 || status === 404 || status === 422
              : status < 500;
        if (!ok || leaked.length > 0) {
          failures.push(
            `${route} as ${p.as}: ${p.method} ${p.url} -> ${status}` +
              (leaked.length ? ` LEAKED ${leaked.join(', ')}` : '') +
              ` ${res.body.slice(0, 300)}`,
          );
        }
      }
    }
    expect(failures).toEqual([]);
    expect(probes).toBeGreaterThan(60);
    expect(await victimState()).toBe(before);
  });
});

function multipartBody(fields: Record<string, string>, file: Uint8Array) {
  const boundary = '----tenantwall';
  const head = Object.entries(fields)
    .map(([k, v]) => `--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
    .join('');
  const payload = Buffer.concat([
    Buffer.from(
      `${head}--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.png"\r\n` +
        'content-type: image/png\r\n\r\n',
    ),
    Buffer.from(file),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, contentType: `multipart/form-data; boundary=${boundary}` };
}
