/**
 * Signed tracking tokens. A decision hands out URLs for impression, viewable, click and custom events of each
 * served ad; ONE token per ad carries the decision's facts (who serves what, where, at which price, the landing
 * URL) and an expiry, signed with HMAC-SHA256 under a key whose id travels in the token, so keys can rotate: new
 * tokens use the newest key, old tokens verify until they expire. Tracking needs no lookup: the token is the
 * whole context.
 *
 * Token layout (URL-safe, no escaping needed): `<kid>.<payload>.<sig>`
 *   payload = base64url(JSON array of the claims in FIELDS order, version first: short URLs, one cheap encode),
 *   sig = base64url(first 16 bytes of HMAC(kid secret, payload))                     (version 2)
 * The event kind is in the URL path, not in the MAC: all four URLs of an ad go to the same client in the same
 * response, so a MAC per kind would stop nothing that client cannot do anyway (fire its click URL), and costs
 * three more HMACs per ad. Each kind is deduplicated separately per decision (see the tracking service).
 * Version 1 tokens (one MAC per kind: HMAC(secret, event + "." + payload)) still verify until they expire,
 * so an upgrade does not invalidate the URLs already on pages.
 *
 * Verification checks the MAC before it decodes anything (a forged token costs one HMAC, no base64 or JSON
 * work): the shape is checked on the text (three parts, a payload that starts like a version 1 or 2 array),
 * then the key, then the MAC (constant-time, on the decoded signature bytes, with the encoding required to be
 * canonical), and only a genuine payload is decoded. The MAC is standard HMAC-SHA256
 * (hmac-sha256.ts: precomputed pads, one native hash per token), so every token ever issued still verifies.
 */
import { randomBytes } from 'node:crypto';
import { parseClaimsText } from './claims-text.ts';
import { HmacSha256 } from './hmac-sha256.ts';

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
  /** Click destination (the creative's click URL at decision time): the redirect goes only where Marquee signed. */
  readonly url?: string;
  /** Custom event name (version 1 tokens only; the name now travels in the query). */
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
  private readonly keys: Map<string, HmacSha256>;
  private readonly current: { readonly kid: string; readonly mac: HmacSha256 };
  /** Base64url decoding of a genuine payload (tokens are at most 8 KiB of text). */
  private readonly decoded = Buffer.allocUnsafe(8192);

  /** `keys`: all keys that may verify; the first is the one that signs (the newest). */
  constructor(keys: readonly SigningKey[]) {
    if (keys.length === 0) throw new RangeError('UrlSigner needs at least one key');
    for (const k of keys) {
      if (!KID_RE.test(k.kid)) throw new RangeError(`bad key id "${k.kid}"`);
      if (k.secret.length < 16) throw new RangeError(`key "${k.kid}" is shorter than 128 bits`);
    }
    // One HMAC state per key (pads precomputed): no Hmac object and no key import per token.
    this.keys = new Map(keys.map((k) => [k.kid, new HmacSha256(k.secret)]));
    this.current = { kid: keys[0]!.kid, mac: this.keys.get(keys[0]!.kid)! };
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
    const mac = this.current.mac;
    if (!mac.macText(payload)) throw new RangeError('claims too long for a tracking token');
    return `${this.current.kid}.${payload}.${mac.digest(SIG_BYTES).toString('base64url')}`;
  }

  verify(event: TrackingEventKind, token: string, nowMs: number): VerifyResult {
    if (typeof token !== 'string' || token.length > 8192) return MALFORMED;
    const a = token.indexOf('.');
    const b = token.lastIndexOf('.');
    // Shape first, on the text: three parts, a payload that starts as a version 1 or 2 array.
    if (a <= 0 || b <= a) return MALFORMED;
    const version = token.startsWith(V2_PREFIX, a + 1) ? 2 : token.startsWith(V1_PREFIX, a + 1) ? 1 : 0;
    if (version === 0) return MALFORMED;
    const kid = token.slice(0, a);
    const key = this.keys.get(kid);
    if (!key) return UNKNOWN_KEY;
    const payload = token.slice(a + 1, b);
    if (token.length - b - 1 !== SIG_CHARS) {
      // A signature of the wrong size cannot match. Told apart as before: bad_signature when the payload reads as
      // claims (a character appended to a URL), malformed when not. Only this shape costs a decode; a forgery
      // with a signature of the right size costs the MAC alone.
      return B64URL_RE.test(payload) && this.decodeClaims(payload, version) ? BAD_SIGNATURE : MALFORMED;
    }
    // The MAC before any decoding. Version 1: HMAC(secret, event + "." + payload); version 2: HMAC(secret, payload).
    if (!key.macText(payload, version === 1 ? `${event}.` : '') || !signatureMatches(token, b + 1, key.out)) {
      return BAD_SIGNATURE;
    }
    const claims = this.decodeClaims(payload, version);
    if (!claims) return MALFORMED; // genuinely signed but unreadable: only if a signer wrote it so
    if (claims.exp < nowMs) return { kind: 'invalid', reason: 'expired', claims };
    return { kind: 'valid', claims, kid };
  }

  /** Parses and shape-checks a genuine payload; anything odd is undefined, never an exception. */
  private decodeClaims(payload: string, version: 1 | 2): TrackingClaims | undefined {
    const buf = this.decoded;
    // Into a reused buffer (no allocation); the payload was checked by its MAC, so it is what a signer wrote.
    const n = buf.write(payload, 0, 'base64url');
    return parseClaimsText(buf.toString('utf8', 0, n), version);
  }
}

const MALFORMED: VerifyResult = Object.freeze({ kind: 'invalid', reason: 'malformed' });
const UNKNOWN_KEY: VerifyResult = Object.freeze({ kind: 'invalid', reason: 'unknown_key' });
const BAD_SIGNATURE: VerifyResult = Object.freeze({ kind: 'invalid', reason: 'bad_signature' });

const B64URL_RE = /^[A-Za-z0-9_-]+$/;
/** Base64url of SIG_BYTES bytes, unpadded. */
const SIG_CHARS = Math.ceil((SIG_BYTES * 8) / 6);
/** base64url('[2,') and base64url('[1,'): how every version 2 and version 1 payload starts. */
const V2_PREFIX = Buffer.from('[2,').toString('base64url');
const V1_PREFIX = Buffer.from('[1,').toString('base64url');

/** Base64url alphabet value of each ASCII code; 64 marks a character outside it. */
const B64 = new Uint8Array(128).fill(64);
for (let i = 0; i < 64; i++) {
  B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;
}

/**
 * Whether `token[from..]` (SIG_CHARS characters) is the canonical base64url of the first SIG_BYTES bytes of
 * `mac` (big-endian words). Constant time in the content: no early exit, every character is looked at.
 * Canonical: the unused low bits of the last character must be zero, so exactly one text matches (base64
 * decoders ignore those bits; a second spelling of the same signature would be another token for dedup).
 */
function signatureMatches(token: string, from: number, mac: Int32Array): boolean {
  let diff = 0;
  let acc = 0;
  let bits = 0;
  let byte = 0;
  for (let i = 0; i < SIG_CHARS; i++) {
    const c = token.charCodeAt(from + i);
    const v = B64[c & 127]! | (c > 127 ? 64 : 0);
    diff |= v & 64;
    acc = (acc << 6) | (v & 63);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      const got = (acc >>> bits) & 255;
      const want = (mac[byte >> 2]! >>> (24 - 8 * (byte & 3))) & 255;
      diff |= got ^ want;
      byte++;
      acc &= (1 << bits) - 1;
    }
  }
  diff |= acc; // the leftover low bits of the last character
  return diff === 0;
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
const VERSION = 2;

/** Positional encoding: [version, ...strings, priceMicros, pricingModel, iat, exp, url?, name?]. */
function encodeClaims(c: TrackingClaims): string {
  const a: (string | number | null)[] = [VERSION];
  for (const f of STRING_FIELDS) a.push(c[f]);
  a.push(c.priceMicros, c.pricingModel, c.iat, c.exp, c.url ?? null, c.name ?? null);
  return Buffer.from(JSON.stringify(a)).toString('base64url');
}
