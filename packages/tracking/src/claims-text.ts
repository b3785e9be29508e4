/**
 * Reads the JSON text of a token payload (`[version, ...12 strings, priceMicros, pricingModel, iat, exp, url,
 * name]`, see url-signer.ts) into claims. Only text whose MAC checked reaches it, i.e. what a signer wrote with
 * JSON.stringify, but it still rejects anything odd (undefined, never an exception).
 *
 * Performance: a hand-written reader of exactly what JSON.stringify writes for claims (no whitespace, no escape,
 * plain non-negative integers) goes straight from the text to the claims object: no intermediate array, one slice
 * per string. Anything outside that narrow form (an escape, a control character, a number JSON.parse would read
 * differently, such as `1e3` or `-5`, whitespace, ...) goes to the general reader (JSON.parse + the same checks),
 * so the answer for any text is the one the general reader gives (a test checks this on mutated payloads).
 */
import type { TrackingClaims } from './url-signer.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The claims in `text` if it is a well-formed payload of this version; undefined otherwise. */
export function parseClaimsText(text: string, version: 1 | 2): TrackingClaims | undefined {
  const fast = readPlain(text, version);
  return fast === FALLBACK ? parseClaimsGeneral(text, version) : fast;
}

/** Marks text the plain reader does not decide on (the general reader does). */
const FALLBACK = Symbol('fallback');

/** Characters that make the plain reader hand over: backslash (an escape) and raw control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what JSON.parse refuses raw
const NOT_PLAIN = /[\\\u0000-\u001f]/;

// Character codes.
const QUOTE = 0x22;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;

/** Cursor of the plain reader (module state: the reader is synchronous and not reentrant). */
let pos = 0;

/**
 * The string starting at `pos` (which must be a quote) followed by `end` (a comma or the closing bracket);
 * moves `pos` past `end`. Undefined when the text is not so. Text with a backslash never reaches here, so the
 * next quote ends the string.
 */
function str(text: string, end: number): string | undefined {
  if (text.charCodeAt(pos) !== QUOTE) return undefined;
  const close = text.indexOf('"', pos + 1);
  if (close < 0 || text.charCodeAt(close + 1) !== end) return undefined;
  const s = text.slice(pos + 1, close);
  pos = close + 2;
  return s;
}

/**
 * A non-negative integer as JSON.stringify writes a safe integer (`0` or no leading zero, at most 16 digits)
 * followed by `end`; moves `pos` past `end`. -1 when the text is not so.
 */
function int(text: string, end: number): number {
  const start = pos;
  let v = 0;
  let c = text.charCodeAt(pos);
  while (c >= ZERO && c <= NINE) {
    v = v * 10 + (c - ZERO);
    c = text.charCodeAt(++pos);
  }
  const digits = pos - start;
  if (c !== end || digits === 0 || digits > 16 || (digits > 1 && text.charCodeAt(start) === ZERO)) return -1;
  pos++;
  return Number.isSafeInteger(v) ? v : -1;
}

/** `null` or a string, followed by `end`; moves `pos` past `end`. Undefined when the text is neither. */
function nullOrStr(text: string, end: number): string | null | undefined {
  if (text.startsWith('null', pos) && text.charCodeAt(pos + 4) === end) {
    pos += 5;
    return null;
  }
  return str(text, end);
}

function readPlain(text: string, version: 1 | 2): TrackingClaims | undefined | typeof FALLBACK {
  if (NOT_PLAIN.test(text)) return FALLBACK;
  if (text.charCodeAt(0) !== OPEN || text.charCodeAt(1) !== ZERO + version || text.charCodeAt(2) !== COMMA) {
    return FALLBACK;
  }
  pos = 3;
  const decisionId = str(text, COMMA);
  const lineItemId = str(text, COMMA);
  const creativeId = str(text, COMMA);
  const campaignId = str(text, COMMA);
  const advertiserId = str(text, COMMA);
  const placementId = str(text, COMMA);
  const siteId = str(text, COMMA);
  const publisherId = str(text, COMMA);
  const currency = str(text, COMMA);
  const userKey = str(text, COMMA);
  const country = str(text, COMMA);
  const device = str(text, COMMA);
  // A failed read leaves `pos` where it was, so every read after it fails the same way: checking the last is
  // enough to know that all 12 succeeded.
  if (device === undefined) return FALLBACK;
  const priceMicros = int(text, COMMA);
  if (priceMicros < 0) return FALLBACK;
  const pricingModel = str(text, COMMA);
  if (pricingModel === undefined) return FALLBACK;
  const iat = int(text, COMMA);
  if (iat < 0) return FALLBACK;
  const exp = int(text, COMMA);
  if (exp < 0) return FALLBACK;
  const url = nullOrStr(text, COMMA);
  if (url === undefined) return FALLBACK;
  const name = nullOrStr(text, CLOSE);
  if (name === undefined || pos !== text.length) return FALLBACK;
  // The text is a well-formed array of the right shape: now the checks of the general reader.
  if (
    decisionId!.length > 512 ||
    lineItemId!.length > 512 ||
    creativeId!.length > 512 ||
    campaignId!.length > 512 ||
    advertiserId!.length > 512 ||
    placementId!.length > 512 ||
    siteId!.length > 512 ||
    publisherId!.length > 512 ||
    currency!.length > 512 ||
    userKey!.length > 512 ||
    country!.length > 512 ||
    device.length > 512
  ) {
    return undefined;
  }
  if (!isPricing(pricingModel)) return undefined;
  if (url !== null && !urlOk(url)) return undefined;
  if (name !== null && name.length > 128) return undefined;
  // The same literal shape as the general reader's (same keys in the same order).
  const claims: Mutable<TrackingClaims> = {
    decisionId: decisionId!,
    lineItemId: lineItemId!,
    creativeId: creativeId!,
    campaignId: campaignId!,
    advertiserId: advertiserId!,
    placementId: placementId!,
    siteId: siteId!,
    publisherId: publisherId!,
    currency: currency!,
    userKey: userKey!,
    country: country!,
    device,
    priceMicros,
    pricingModel,
    iat,
    exp,
  };
  if (url !== null) claims.url = url;
  if (name !== null) claims.name = name;
  return claims;
}

function isPricing(v: string): v is TrackingClaims['pricingModel'] {
  return v === 'cpm' || v === 'cpc' || v === 'cpa' || v === 'flat';
}

const URL_RE = /^https?:\/\//;
function urlOk(url: string): boolean {
  return url.length <= 4096 && URL_RE.test(url);
}

/** Number of string fields after the version. */
const N = 12;

/** The general reader: JSON.parse, then the shape checks. Decides every text the plain reader hands over. */
export function parseClaimsGeneral(text: string, version: 1 | 2): TrackingClaims | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== N + 7 || value[0] !== version) return undefined;
  for (let i = 1; i <= N; i++) {
    const v = value[i];
    if (typeof v !== 'string' || v.length > 512) return undefined;
  }
  const priceMicros = value[N + 1];
  const pricingModel = value[N + 2];
  const iat = value[N + 3];
  const exp = value[N + 4];
  const url = value[N + 5];
  const name = value[N + 6];
  if (!Number.isSafeInteger(priceMicros) || (priceMicros as number) < 0) return undefined;
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) return undefined;
  if (typeof pricingModel !== 'string' || !isPricing(pricingModel)) return undefined;
  if (url !== null && (typeof url !== 'string' || !urlOk(url))) return undefined;
  if (name !== null && (typeof name !== 'string' || name.length > 128)) return undefined;
  const v = value as string[];
  const claims: Mutable<TrackingClaims> = {
    decisionId: v[1]!,
    lineItemId: v[2]!,
    creativeId: v[3]!,
    campaignId: v[4]!,
    advertiserId: v[5]!,
    placementId: v[6]!,
    siteId: v[7]!,
    publisherId: v[8]!,
    currency: v[9]!,
    userKey: v[10]!,
    country: v[11]!,
    device: v[12]!,
    priceMicros: priceMicros as number,
    pricingModel,
    iat: iat as number,
    exp: exp as number,
  };
  if (url !== null) claims.url = url as string;
  if (name !== null) claims.name = name as string;
  return claims;
}
