/**
 * Signed tracking tokens. A decision hands out URLs for impression, viewable, click and custom events;
 * each carries the decision's facts (who serves what, where, at which price) and an expiry, signed with
 * HMAC-SHA256 under a key whose id travels in the token, so keys can rotate: new tokens use the newest
 * key, old tokens verify until they expire. Tracking needs no lookup: the token is the whole context.
 *
 * Token layout (URL-safe, no escaping needed): `<kid>.<payload>.<sig>`
 *   payload = base64url(JSON of TrackingClaims), sig = base64url(first 16 bytes of HMAC(kid secret, event + "." + payload))
 * The event kind is inside the MAC, so an impression token cannot be replayed as a click.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TRACKING_EVENTS = ['impression', 'viewable', 'click', 'custom'] as const;
export type TrackingEventKind = (typeof TRACKING_EVENTS)[number];

/** What a decision asserts about one served ad; everything money and reports need later. */
export interface TrackingClaims {
  /** Unique per served ad: impressions and clicks are deduplicated on it. */
  readonly decisionId: string;
  readonly lineItemId: string;
  readonly creativeId: string;
  readonly campaignId: string;
  readonly advertiserId: string;
  readonly placementId: string;
  readonly siteId: string;
  readonly publisherId: string;
  /** Clearing price of this ad, integer micros, per impression for CPM (already divided by 1000). */
  readonly priceMicros: number;
  readonly pricingModel: 'cpm' | 'cpc' | 'cpa' | 'flat';
  readonly currency: string;
  /** Issued at and expires at, epoch milliseconds. */
  readonly iat: number;
  readonly exp: number;
  /** The user key the decision was made for (frequency caps, attribution); may be empty. */
  readonly userKey: string;
  readonly country: string;
  readonly device: string;
  /** Click destination (only in click tokens): the redirect goes only where Marquee signed. */
  readonly url?: string;
  /** Custom event name (only in custom tokens). */
  readonly name?: string;
}

export interface SigningKey {
  readonly kid: string;
  readonly secret: Buffer;
}

export type VerifyResult =
  | { readonly kind: 'valid'; readonly claims: TrackingClaims; readonly kid: string }
  | {
      readonly kind: 'invalid';
      readonly reason: 'malformed' | 'unknown_key' | 'bad_signature' | 'expired';
      /** Claims are returned (unverified or expired) so the rejection can be recorded with context. */
      readonly claims?: TrackingClaims;
    };

const SIG_BYTES = 16;
const KID_RE = /^[A-Za-z0-9_-]{1,16}$/;

export function generateSigningKey(kid: string): SigningKey {
  if (!KID_RE.test(kid)) throw new RangeError('key id must be 1-16 URL-safe characters');
  return { kid, secret: randomBytes(32) };
}

export class UrlSigner {
  private readonly keys: Map<string, Buffer>;
  private readonly current: SigningKey;

  /** `keys`: all keys that may verify; the first is the one that signs (the newest). */
  constructor(keys: readonly SigningKey[]) {
    if (keys.length === 0) throw new RangeError('UrlSigner needs at least one key');
    for (const k of keys) {
      if (!KID_RE.test(k.kid)) throw new RangeError(`bad key id "${k.kid}"`);
      if (k.secret.length < 16) throw new RangeError(`key "${k.kid}" is shorter than 128 bits`);
    }
    this.current = keys[0]!;
    this.keys = new Map(keys.map((k) => [k.kid, k.secret]));
  }

  sign(event: TrackingEventKind, claims: TrackingClaims): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${this.current.kid}.${payload}.${mac(this.current.secret, event, payload)}`;
  }

  verify(event: TrackingEventKind, token: string, nowMs: number): VerifyResult {
    if (typeof token !== 'string' || token.length > 8192) return { kind: 'invalid', reason: 'malformed' };
    const a = token.indexOf('.');
    const b = token.lastIndexOf('.');
    if (a <= 0 || b <= a) return { kind: 'invalid', reason: 'malformed' };
    const kid = token.slice(0, a);
    const payload = token.slice(a + 1, b);
    const sig = token.slice(b + 1);
    const claims = decodeClaims(payload);
    if (!claims) return { kind: 'invalid', reason: 'malformed' };
    const secret = this.keys.get(kid);
    if (!secret) return { kind: 'invalid', reason: 'unknown_key', claims };
    // Compare the text, not decoded bytes: base64 ignores the low bits of the last character,
    // so two different strings can decode to the same bytes.
    const expected = Buffer.from(mac(secret, event, payload));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { kind: 'invalid', reason: 'bad_signature', claims };
    }
    if (claims.exp < nowMs) return { kind: 'invalid', reason: 'expired', claims };
    return { kind: 'valid', claims, kid };
  }
}

function mac(secret: Buffer, event: string, payload: string): string {
  return createHmac('sha256', secret)
    .update(event)
    .update('.')
    .update(payload)
    .digest()
    .subarray(0, SIG_BYTES)
    .toString('base64url');
}

const STRING_FIELDS = [
  'decisionId',
  'lineItemId',
  'creativeId',
  'campaignId',
  'advertiserId',
  'placementId',
  'siteId',
  'publisherId',
  'currency',
  'userKey',
  'country',
  'device',
] as const;
const PRICING = new Set(['cpm', 'cpc', 'cpa', 'flat']);

/** Parses and shape-checks a payload; anything odd is "malformed", never an exception. */
function decodeClaims(payload: string): TrackingClaims | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  for (const f of STRING_FIELDS) if (typeof v[f] !== 'string' || (v[f] as string).length > 512) return undefined;
  for (const f of ['priceMicros', 'iat', 'exp'] as const) if (!Number.isSafeInteger(v[f])) return undefined;
  if ((v.priceMicros as number) < 0) return undefined;
  if (typeof v.pricingModel !== 'string' || !PRICING.has(v.pricingModel)) return undefined;
  if (v.url !== undefined && (typeof v.url !== 'string' || !/^https?:\/\//.test(v.url))) return undefined;
  if (v.name !== undefined && typeof v.name !== 'string') return undefined;
  return v as unknown as TrackingClaims;
}
