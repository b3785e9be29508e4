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
