/**
 * Helpers of the tracking fault tests and benchmarks that drive a Marquee over real HTTP: sign in and get
 * an API key, create a small network through the management API (one placement per line item, so a
 * decision picks exactly that line item), and read back what a decision's signed token claims.
 */

export interface MarqueeApi {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `Authorization: Bearer <api key>` of the admin (write scope). */
  readonly headers: Record<string, string>;
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/** Signs in as the admin and creates a write API key; every later call uses the key. */
export async function signIn(url: string, email: string, password: string): Promise<MarqueeApi> {
  const base = `${url}/api/v1`;
  const login = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (!login.ok) throw new Error(`login: ${login.status} ${await login.text()}`);
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const created = await fetch(`${base}/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify({ name: 'tracking-tests', scope: 'write' }),
  });
  if (!created.ok) throw new Error(`api key: ${created.status} ${await created.text()}`);
  const { secret } = (await created.json()) as { secret: string };
  return apiWithKey(url, secret);
}

export function apiWithKey(url: string, secret: string): MarqueeApi {
  const headers = { authorization: `Bearer ${secret}` };
  return {
    url,
    headers,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const r = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 500)}`);
      return JSON.parse(text) as T;
    },
  };
}

export interface NetworkLineItem {
  readonly id: string;
  readonly placementId: string;
  readonly pricingModel: 'cpm' | 'cpc';
  readonly rateMicros: number;
}

export interface TrackingNetwork {
  readonly publisherId: string;
  readonly siteId: string;
  readonly lineItems: readonly NetworkLineItem[];
}

/**
 * `cpm` CPM and `cpc` CPC line items (no caps, no budget, pacing asap), each of its own advertiser and alone
 * on a placement of its own size under first-price auctions, so its clearing price is its rate.
 * `lineItemFields` are added to every line item (e.g. frequencyCaps).
 */
export async function createTrackingNetwork(
  api: MarqueeApi,
  cpm: number,
  cpc: number,
  lineItemFields: Record<string, unknown> = {},
): Promise<TrackingNetwork> {
  const pub = await api.call<{ id: string }>('POST', '/publishers', { name: 'Tracking publisher' });
  const site = await api.call<{ id: string }>('POST', '/sites', {
    publisherId: pub.id,
    name: 'Tracking site',
    kind: 'site',
    domain: 'tracking.example',
  });
  const lineItems: NetworkLineItem[] = [];
  for (let i = 0; i < cpm + cpc; i++) {
    const pricingModel = i < cpm ? 'cpm' : 'cpc';
    const width = 400 + i; // a size of its own: only this line item's creative fits its placement
    const placement = await api.call<{ id: string }>('POST', '/placements', {
      publisherId: pub.id,
      siteId: site.id,
      name: `Tracking placement ${i}`,
      formats: ['banner'],
      sizes: [{ w: width, h: 50 }],
      auction: 'first_price',
    });
    // An advertiser each: one page shows one ad per advertiser unless allowed.
    const adv = await api.call<{ id: string }>('POST', '/advertisers', {
      name: `Tracking advertiser ${i}`,
      currency: 'USD',
    });
    const campaign = await api.call<{ id: string }>('POST', '/campaigns', {
      advertiserId: adv.id,
      name: `Tracking campaign ${i}`,
      status: 'active',
    });
    const creative = await api.call<{ id: string }>('POST', '/creatives', {
      advertiserId: adv.id,
      name: `Tracking creative ${i}`,
      kind: 'image',
      width,
      height: 50,
      imageUrl: 'https://tracking.example/ad.png',
      clickUrl: `https://tracking.example/land/${i}?c={click_id}`,
      status: 'active',
      approval: 'approved',
    });
    const rateMicros = pricingModel === 'cpm' ? 1_000_000 * (i + 1) + 7 : 100_000 * (i + 1) + 3;
    const li = await api.call<{ id: string }>('POST', '/line-items', {
      campaignId: campaign.id,
      name: `Tracking line item ${i}`,
      status: 'active',
      priority: 'standard',
      pricingModel,
      rateMicros,
      pacing: 'asap',
      startAt: new Date(Date.now() - 86_400_000).toISOString(),
      creatives: [{ creativeId: creative.id, weight: 1 }],
      ...lineItemFields,
    });
    lineItems.push({ id: li.id, placementId: placement.id, pricingModel, rateMicros });
  }
  return { publisherId: pub.id, siteId: site.id, lineItems };
}

/** Waits until a decision for every placement fills (the serving snapshot follows the change feed). */
export async function waitServing(url: string, network: TrackingNetwork, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await decide(
      url,
      network.lineItems.map((li) => li.placementId),
      'warm-up',
    ).catch(() => undefined);
    if (body && network.lineItems.every((li) => body.decisions[li.placementId]?.length === 1)) return;
    if (Date.now() > deadline) throw new Error(`placements did not fill: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface DecisionAd {
  decisionId: string;
  lineItemId: string;
  clickUrl: string | null;
  tracking: { impression: string; viewable: string; click: string | null; custom: string };
}
export interface DecisionBody {
  decisions: Record<string, DecisionAd[]>;
  noFill: Record<string, string>;
}

export async function decide(url: string, placementIds: readonly string[], userKey: string): Promise<DecisionBody> {
  const res = await fetch(`${url}/v1/decisions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ placements: placementIds.map((id) => ({ id })), user: { key: userKey } }),
  });
  if (res.status !== 200) throw new Error(`decision: ${res.status} ${await res.text()}`);
  return (await res.json()) as DecisionBody;
}

/** The last path segment of a tracking URL: the token batch ingestion takes. */
export const tokenOf = (trackingUrl: string): string => new URL(trackingUrl).pathname.split('/').pop()!;

export interface TokenFacts {
  readonly decisionId: string;
  readonly lineItemId: string;
  readonly placementId: string;
  readonly priceMicros: number;
  readonly pricingModel: string;
}

/**
 * What a token claims (not verified: the test reads its own decisions). Layout of packages/tracking's
 * positional payload: [version, decisionId, lineItemId, creativeId, campaignId, advertiserId, placementId,
 * siteId, publisherId, currency, userKey, country, device, priceMicros, pricingModel, iat, exp, url, name].
 */
export function tokenFacts(token: string): TokenFacts {
  const payload = token.split('.')[1]!;
  const a = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown[];
  return {
    decisionId: a[1] as string,
    lineItemId: a[2] as string,
    placementId: a[6] as string,
    priceMicros: a[13] as number,
    pricingModel: a[14] as string,
  };
}

/** UTC day `offset` days from now, YYYY-MM-DD. */
export const utcDay = (offset: number): string => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

export type ReportRow = Record<string, string | number | null>;

/** GET /api/v1/reports over yesterday..tomorrow (UTC), as JSON rows and totals. */
export async function report(
  api: MarqueeApi,
  measures: string,
  dimensions: string,
): Promise<{ rows: ReportRow[]; totals: ReportRow }> {
  const q =
    `measures=${measures}&dimensions=${dimensions}&from=${utcDay(-1)}&to=${utcDay(1)}` + `&timeZone=UTC&limit=10000`;
  return api.call('GET', `/reports?${q}`);
}

/** GET /api/v1/events/export over yesterday..tomorrow: every raw event in the log. */
export async function exportEvents(api: MarqueeApi): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${api.url}/api/v1/events/export?from=${utcDay(-1)}&to=${utcDay(1)}`, {
    headers: api.headers,
  });
  if (res.status !== 200) throw new Error(`export: ${res.status} ${await res.text()}`);
  return (await res.text())
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
