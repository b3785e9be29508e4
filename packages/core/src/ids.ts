import { randomBytes } from 'node:crypto';

/** Prefixes make ids self-describing in logs and URLs ("li_01J..." is a line item). */
export const ID_PREFIX = {
  advertiser: 'adv',
  campaign: 'cmp',
  lineItem: 'li',
  creative: 'cr',
  publisher: 'pub',
  site: 'site',
  placement: 'plc',
  user: 'usr',
  apiKey: 'key',
  audience: 'aud',
  asset: 'ast',
} as const;

export type IdKind = keyof typeof ID_PREFIX;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * Time-sortable ids (ULID layout: 48-bit milliseconds then 80 random bits, base32), so that
 * sorting by id is sorting by creation time and keyset pagination over ids is stable.
 */
export function newId(kind: IdKind, nowMs: number = Date.now()): string {
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let rand = '';
  for (let i = 0; i < 16; i++) rand += ALPHABET[bytes[i]! % 32];
  return `${ID_PREFIX[kind]}_${time}${rand}`;
}

/** Ids are short ASCII tokens; anything else is rejected before it reaches a query. */
export const ID_PATTERN = '^[a-z]{2,5}_[0-9a-z]{1,40}$';
const ID_RE = new RegExp(ID_PATTERN);
export function isId(value: string): boolean {
  return ID_RE.test(value);
}
