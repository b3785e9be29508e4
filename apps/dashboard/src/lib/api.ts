/**
 * The only module that talks to Marquee. Same origin, session cookie (httpOnly, never visible here) plus the
 * CSRF token from sign-in on every unsafe method; errors become ApiError with the server's field details.
 */
import type {
  Advertiser,
  ApiKey,
  Asset,
  Audience,
  Campaign,
  Creative,
  LineItem,
  Placement,
  Publisher,
  Site,
  User,
} from '@marquee/core';

export const API = '/api/v1';

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
  readonly code?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    readonly body: unknown = undefined,
  ) {
    super(message);
  }
}

export interface Entities {
  advertisers: Advertiser;
  campaigns: Campaign;
  'line-items': LineItem;
  creatives: Creative;
  publishers: Publisher;
  sites: Site;
  placements: Placement;
  audiences: Audience;
}
export type EntityPlural = keyof Entities;
export type Status = Advertiser['status'];

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
  readonly total: number;
}

export type Query = Record<string, string | number | boolean | readonly string[] | null | undefined>;

export interface Session {
  readonly user: User;
  readonly csrfToken: string | null;
  readonly expiresAt: string | null;
}

let csrfToken: string | null = null;
let onUnauthenticated: ((code: string) => void) | null = null;

/** Called when any request answers 401 (expired or ended session), so the app can send the user to sign-in. */
export function setUnauthenticatedHandler(handler: ((code: string) => void) | null): void {
  onUnauthenticated = handler;
}

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.append(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly form?: FormData;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  let body: BodyInit | undefined;
  if (options.form) body = options.form;
  else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path + queryString(options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: options.signal ?? null,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'Marquee cannot be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const e = (data ?? {}) as { code?: string; message?: string; details?: ErrorDetail[] };
    const error = new ApiError(
      res.status,
      e.code ?? `HTTP_${res.status}`,
      e.message ?? res.statusText,
      Array.isArray(e.details) ? e.details : [],
      data,
    );
    if (res.status === 401 && !path.endsWith('/auth/login') && !path.endsWith('/auth/me')) {
      onUnauthenticated?.(error.code);
    }
    throw error;
  }
  return data as T;
}

// ---------- session ----------
export async function login(email: string, password: string): Promise<Session> {
  const s = await request<Session>('POST', `${API}/auth/login`, { body: { email, password } });
  csrfToken = s.csrfToken;
  return s;
}
export async function me(): Promise<Session> {
  const s = await request<Session>('GET', `${API}/auth/me`);
  csrfToken = s.csrfToken;
  return s;
}
export async function logout(): Promise<void> {
  try {
    await request('POST', `${API}/auth/logout`);
  } finally {
    csrfToken = null;
  }
}

// ---------- entities ----------
export function listEntities<K extends EntityPlural>(
  plural: K,
  query: Query = {},
  signal?: AbortSignal,
): Promise<Page<Entities[K]>> {
  return request('GET', `${API}/${plural}`, { query, ...(signal ? { signal } : {}) });
}
export function getEntity<K extends EntityPlural>(plural: K, id: string): Promise<Entities[K]> {
  return request('GET', `${API}/${plural}/${encodeURIComponent(id)}`);
}
export function createEntity<K extends EntityPlural>(plural: K, body: Record<string, unknown>): Promise<Entities[K]> {
  return request('POST', `${API}/${plural}`, { body });
}
/** PATCH with the version that was read (optimistic concurrency: 409 when someone else changed it meanwhile). */
export function updateEntity<K extends EntityPlural>(
  plural: K,
  id: string,
  version: number,
  patch: Record<string, unknown>,
): Promise<Entities[K]> {
  return request('PATCH', `${API}/${plural}/${encodeURIComponent(id)}`, {
    body: patch,
    headers: { 'if-match': `"${version}"` },
  });
}

export interface BulkResult {
  readonly changed: string[];
  readonly unchanged: string[];
  readonly errors: { id: string; code: string; message: string }[];
}
export function bulkStatus(plural: EntityPlural, ids: readonly string[], status: Status): Promise<BulkResult> {
  return request('POST', `${API}/${plural}/bulk-status`, { body: { ids, status } });
}

// ---------- assets ----------
export function uploadAsset(advertiserId: string, file: File, width?: number, height?: number): Promise<Asset> {
  const form = new FormData();
  form.append('advertiserId', advertiserId);
  if (width) form.append('width', String(width));
  if (height) form.append('height', String(height));
  form.append('file', file);
  return request('POST', `${API}/assets`, { form });
}
export function getAsset(id: string): Promise<Asset> {
  return request('GET', `${API}/assets/${encodeURIComponent(id)}`);
}

// ---------- serving ----------
export interface ExplainRow {
  readonly placementId: string;
  readonly lineItemId: string;
  readonly reason: string;
  readonly ecpmMicros?: number;
}
export interface ExplainResult {
  readonly requestId: string;
  readonly decisions: Record<
    string,
    { lineItemId: string; creativeId: string; width: number | null; height: number | null }[]
  >;
  readonly noFill: Record<string, string>;
  readonly explain?: ExplainRow[];
}
export interface ExplainRequest {
  readonly placements: { id: string }[];
  readonly user?: { key?: string; segments?: string[] };
  readonly keywords?: string[];
  readonly device?: { ip?: string; ua?: string };
  readonly site?: { page?: string };
}
export function explain(body: ExplainRequest): Promise<ExplainResult> {
  return request('POST', `${API}/decisions/explain`, { body });
}

// ---------- administration ----------
export function listUsers(query: Query = {}): Promise<Page<User>> {
  return request('GET', `${API}/users`, { query });
}
export function createUser(body: Record<string, unknown>): Promise<{ user: User; password?: string }> {
  return request('POST', `${API}/users`, { body });
}
export function updateUser(id: string, version: number, patch: Record<string, unknown>): Promise<User> {
  return request('PATCH', `${API}/users/${encodeURIComponent(id)}`, {
    body: patch,
    headers: { 'if-match': `"${version}"` },
  });
}
export function listApiKeys(query: Query = {}): Promise<{ items: ApiKey[] }> {
  return request('GET', `${API}/api-keys`, { query });
}
export function createApiKey(body: {
  name: string;
  scope: 'read' | 'write';
  expiresAt?: string | null;
}): Promise<{ apiKey: ApiKey; secret: string }> {
  return request('POST', `${API}/api-keys`, { body });
}
export function revokeApiKey(id: string): Promise<unknown> {
  return request('DELETE', `${API}/api-keys/${encodeURIComponent(id)}`);
}
export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly userId: string | null;
  readonly requestId: string | null;
  readonly action: string;
  readonly kind: string;
  readonly entityId: string;
  readonly before: unknown;
  readonly after: unknown;
}
export function listAudit(query: Query = {}): Promise<Page<AuditEntry>> {
  return request('GET', `${API}/audit-log`, { query });
}

// ---------- reporting (see docs/reporting.md; absent on servers without the reporting API) ----------
export function getJson<T>(path: string, query: Query = {}): Promise<T> {
  return request('GET', path, { query });
}

// ---------- billing (apps/server/src/http/routes/billing.ts) ----------
export interface BillingAccount {
  readonly accountId: string;
  /** advertiser, publisher, revenue, cash or adjustments */
  readonly kind: string;
  /** Advertiser or publisher id; '' for the network's own accounts. */
  readonly ownerId: string;
  readonly currency: string;
  /** > 0 owed to the network, < 0 owed by it (or prepaid funds left). */
  readonly balanceMicros: number;
}
export interface BillingCredit {
  readonly advertiserId: string;
  readonly currency: string;
  readonly creditLimitMicros: number;
  readonly balanceMicros: number;
  readonly unpostedMicros: number;
  readonly availableMicros: number;
  readonly stopped: boolean;
}
export interface Balances {
  readonly accounts: BillingAccount[];
  readonly credit: BillingCredit[];
}
export interface LedgerLine {
  readonly accountId: string;
  readonly kind: string;
  readonly ownerId: string;
  readonly amountMicros: number;
}
export interface LedgerEntry {
  readonly id: number;
  readonly kind: string;
  readonly currency: string;
  readonly hour: string | null;
  readonly advertiserId: string | null;
  readonly publisherId: string | null;
  readonly memo: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly lines: LedgerLine[];
}
export interface LedgerItem {
  readonly entryId: number;
  readonly at: string;
  readonly currency: string;
  readonly amountMicros: number;
  readonly note: string;
}
export interface Invoice {
  readonly kind: 'invoice';
  readonly advertiserId: string;
  readonly advertiserName: string;
  readonly month: string;
  readonly timeZone: string;
  readonly from: string;
  readonly to: string;
  readonly lines: {
    campaignId: string;
    campaignName: string;
    lineItemId: string;
    lineItemName: string;
    pricingModel: string;
    currency: string;
    impressions: number;
    clicks: number;
    conversions: number;
    spendMicros: number;
  }[];
  readonly adjustments: LedgerItem[];
  readonly payments: LedgerItem[];
  readonly totals: {
    currency: string;
    impressions: number;
    clicks: number;
    conversions: number;
    spendMicros: number;
    adjustmentsMicros: number;
    totalMicros: number;
    paymentsMicros: number;
    postedMicros: number;
  }[];
}
export interface Statement {
  readonly kind: 'statement';
  readonly publisherId: string;
  readonly publisherName: string;
  readonly month: string;
  readonly timeZone: string;
  readonly from: string;
  readonly to: string;
  readonly lines: {
    siteId: string;
    siteName: string;
    placementId: string;
    placementName: string;
    currency: string;
    impressions: number;
    clicks: number;
    revenueMicros: number;
  }[];
  readonly adjustments: LedgerItem[];
  readonly payouts: LedgerItem[];
  readonly totals: {
    currency: string;
    impressions: number;
    clicks: number;
    revenueMicros: number;
    adjustmentsMicros: number;
    totalMicros: number;
    payoutsMicros: number;
    postedMicros: number;
  }[];
}
export type BillingParty = { advertiserId: string } | { publisherId: string };

export function getBalances(query: Query = {}): Promise<Balances> {
  return request('GET', `${API}/billing/balances`, { query });
}
export function listLedgerEntries(query: Query = {}): Promise<{ items: LedgerEntry[]; nextBefore: number | null }> {
  return request('GET', `${API}/billing/entries`, { query });
}
export function getInvoice(advertiserId: string, month: string): Promise<Invoice> {
  return request('GET', `${API}/billing/invoices`, { query: { advertiserId, month } });
}
export function getStatement(publisherId: string, month: string): Promise<Statement> {
  return request('GET', `${API}/billing/statements`, { query: { publisherId, month } });
}
/** The printable page (html) or the CSV of an invoice or statement: plain links, the session cookie authenticates GETs. */
export function billingDocumentHref(
  doc: 'invoices' | 'statements',
  ownerId: string,
  month: string,
  format: 'html' | 'csv',
): string {
  const owner = doc === 'invoices' ? 'advertiserId' : 'publisherId';
  return `${API}/billing/${doc}${queryString({ [owner]: ownerId, month, format })}`;
}
/** Admins. The idempotency key makes a retried click post once. */
export function postPayment(
  body: BillingParty & { amountMicros: number; currency: string; reference?: string; idempotencyKey: string },
): Promise<{ created: boolean; entry: LedgerEntry }> {
  return request('POST', `${API}/billing/payments`, { body });
}
export function postAdjustment(
  body: BillingParty & { amountMicros: number; currency: string; reason: string; idempotencyKey: string },
): Promise<{ created: boolean; entry: LedgerEntry }> {
  return request('POST', `${API}/billing/adjustments`, { body });
}
export function setCreditLimit(
  advertiserId: string,
  body: { creditLimitMicros: number | null; currency: string },
): Promise<{ advertiserId: string; currency: string; creditLimitMicros: number | null }> {
  return request('PUT', `${API}/billing/credit-limits/${encodeURIComponent(advertiserId)}`, { body });
}
