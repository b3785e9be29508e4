/**
 * The baseline of bench/url-signer.ts: UrlSigner.verify as it was before the precomputed-pad HMAC and the
 * MAC-before-decode order (createHmac per token, payload decoded first, text compare with timingSafeEqual).
 * Kept only to be measured against; the product code is packages/tracking/src/url-signer.ts.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import type {
  SigningKey,
  TrackingClaims,
  TrackingEventKind,
  VerifyResult,
} from '../packages/tracking/src/url-signer.ts';

const SIG_BYTES = 16;
const KID_RE = /^[A-Za-z0-9_-]{1,16}$/;

export class CreateHmacUrlSigner {
  private readonly keys: Map<string, KeyObject>;
  private readonly current: { readonly kid: string; readonly key: KeyObject };

  /** `keys`: all keys that may verify; the first is the one that signs (the newest). */
  constructor(keys: readonly SigningKey[]) {
    if (keys.length === 0) throw new RangeError('UrlSigner needs at least one key');
    for (const k of keys) {
      if (!KID_RE.test(k.kid)) throw new RangeError(`bad key id "${k.kid}"`);
      if (k.secret.length < 16) throw new RangeError(`key "${k.kid}" is shorter than 128 bits`);
    }
    // KeyObjects: createHmac does not copy and import the raw secret on every call.
    this.keys = new Map(keys.map((k) => [k.kid, createSecretKey(k.secret)]));
    this.current = { kid: keys[0]!.kid, key: this.keys.get(keys[0]!.kid)! };
  }

  /**
   * The one token of a served ad, valid for every event kind. (The kind argument of the two-argument form is
   * not signed; it is kept for callers that name it.)
   */
  sign(claims: TrackingClaims): string;
  sign(event: TrackingEventKind, claims: TrackingClaims): string;
  sign(a: TrackingClaims | TrackingEventKind, b?: TrackingClaims): string {
    const claims = typeof a === 'string' ? b! : a;
    const payload = encodeClaims(claims);
    return `${this.current.kid}.${payload}.${mac(this.current.key, payload)}`;
  }

  verify(event: TrackingEventKind, token: string, nowMs: number): VerifyResult {
    if (typeof token !== 'string' || token.length > 8192) return { kind: 'invalid', reason: 'malformed' };
    const a = token.indexOf('.');
    const b = token.lastIndexOf('.');
    if (a <= 0 || b <= a) return { kind: 'invalid', reason: 'malformed' };
    const kid = token.slice(0, a);
    const payload = token.slice(a + 1, b);
    const sig = token.slice(b + 1);
    const decoded = decodeClaims(payload);
    if (!decoded) return { kind: 'invalid', reason: 'malformed' };
    const { claims, version } = decoded;
    const key = this.keys.get(kid);
    if (!key) return { kind: 'invalid', reason: 'unknown_key', claims };
    // Compare the text, not decoded bytes: base64 ignores the low bits of the last character,
    // so two different strings can decode to the same bytes.
    const expected = Buffer.from(version === 1 ? macV1(key, event, payload) : mac(key, payload));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { kind: 'invalid', reason: 'bad_signature', claims };
    }
    if (claims.exp < nowMs) return { kind: 'invalid', reason: 'expired', claims };
    return { kind: 'valid', claims, kid };
  }
}

function mac(key: KeyObject, payload: string): string {
  return createHmac('sha256', key).update(payload).digest().subarray(0, SIG_BYTES).toString('base64url');
}

function macV1(key: KeyObject, event: string, payload: string): string {
  return createHmac('sha256', key)
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
const VERSION = 2;

/** Positional encoding: [version, ...strings, priceMicros, pricingModel, iat, exp, url?, name?]. */
function encodeClaims(c: TrackingClaims): string {
  const a: (string | number | null)[] = [VERSION];
  for (const f of STRING_FIELDS) a.push(c[f]);
  a.push(c.priceMicros, c.pricingModel, c.iat, c.exp, c.url ?? null, c.name ?? null);
  return Buffer.from(JSON.stringify(a)).toString('base64url');
}

const N = STRING_FIELDS.length;

/** Parses and shape-checks a payload; anything odd is "malformed", never an exception. */
function decodeClaims(payload: string): { claims: TrackingClaims; version: 1 | 2 } | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== N + 7 || (value[0] !== VERSION && value[0] !== 1)) return undefined;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < N; i++) {
    const v = value[i + 1];
    if (typeof v !== 'string' || v.length > 512) return undefined;
    out[STRING_FIELDS[i]!] = v;
  }
  const [priceMicros, pricingModel, iat, exp, url, name] = value.slice(N + 1) as unknown[];
  if (!Number.isSafeInteger(priceMicros) || (priceMicros as number) < 0) return undefined;
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) return undefined;
  if (typeof pricingModel !== 'string' || !PRICING.has(pricingModel)) return undefined;
  if (url !== null && (typeof url !== 'string' || !/^https?:\/\//.test(url) || url.length > 4096)) return undefined;
  if (name !== null && (typeof name !== 'string' || name.length > 128)) return undefined;
  out.priceMicros = priceMicros;
  out.pricingModel = pricingModel;
  out.iat = iat;
  out.exp = exp;
  if (url !== null) out.url = url;
  if (name !== null) out.name = name;
  return { claims: out as unknown as TrackingClaims, version: value[0] as 1 | 2 };
}
