import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, type TrackingClaims, UrlSigner } from './url-signer.ts';

const now = 1_800_000_000_000;
const claims: TrackingClaims = {
  decisionId: 'd_1',
  lineItemId: 'li_1',
  creativeId: 'cr_1',
  campaignId: 'cmp_1',
  advertiserId: 'adv_1',
  placementId: 'plc_1',
  siteId: 'site_1',
  publisherId: 'pub_1',
  priceMicros: 2_500,
  pricingModel: 'cpm',
  currency: 'USD',
  iat: now,
  exp: now + 3_600_000,
  userKey: 'u1',
  country: 'US',
  device: 'mobile',
};

describe('UrlSigner', () => {
  const k1 = generateSigningKey('k1');
  const k2 = generateSigningKey('k2');

  it('verifies what it signed', () => {
    const s = new UrlSigner([k1]);
    const t = s.sign('impression', claims);
    expect(s.verify('impression', t, now)).toEqual({ kind: 'valid', claims, kid: 'k1' });
  });

  it('refuses a token for another event kind', () => {
    const s = new UrlSigner([k1]);
    expect(s.verify('click', s.sign('impression', claims), now)).toMatchObject({ reason: 'bad_signature' });
  });

  it('refuses expired tokens but says who they were for', () => {
    const s = new UrlSigner([k1]);
    const r = s.verify('impression', s.sign('impression', claims), claims.exp + 1);
    expect(r).toMatchObject({ kind: 'invalid', reason: 'expired', claims: { decisionId: 'd_1' } });
  });

  it('rotates keys: new tokens use the first key, old keys still verify, dropped keys do not', () => {
    const old = new UrlSigner([k1]).sign('click', { ...claims, url: 'https://example.com' });
    const rotated = new UrlSigner([k2, k1]);
    expect(rotated.sign('click', claims).startsWith('k2.')).toBe(true);
    expect(rotated.verify('click', old, now).kind).toBe('valid');
    expect(new UrlSigner([k2]).verify('click', old, now)).toMatchObject({ reason: 'unknown_key' });
  });

  it('detects any altered character', () => {
    const s = new UrlSigner([k1]);
    const t = s.sign('impression', { ...claims, priceMicros: 1 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: t.length - 1 }), fc.constantFrom(...'AaZz09-_.x'), (i, ch) => {
        fc.pre(t[i] !== ch);
        const altered = t.slice(0, i) + ch + t.slice(i + 1);
        expect(s.verify('impression', altered, now).kind).toBe('invalid');
      }),
      { numRuns: 500 },
    );
  });

  it('answers garbage with "malformed", never a throw', () => {
    const s = new UrlSigner([k1]);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (junk) => {
        expect(s.verify('impression', junk, now).kind).toBe('invalid');
      }),
      { numRuns: 2000 },
    );
    const token = s.sign('impression', claims);
    const fields = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as unknown[];
    fields[13] = -5; // priceMicros
    const forged = `k1.${Buffer.from(JSON.stringify(fields)).toString('base64url')}.AAAA`;
    expect(s.verify('impression', forged, now)).toEqual({ kind: 'invalid', reason: 'malformed' });
  });

  it('signs several kinds over one payload, each verifying only as its own kind', () => {
    const s = new UrlSigner([k1]);
    const t = s.signEach(['impression', 'viewable', 'custom'], claims);
    expect(s.verify('impression', t.impression, now).kind).toBe('valid');
    expect(s.verify('viewable', t.viewable, now).kind).toBe('valid');
    expect(s.verify('custom', t.custom, now).kind).toBe('valid');
    expect(s.verify('viewable', t.impression, now).kind).toBe('invalid');
    expect(t.impression.length).toBeLessThan(400);
  });

  it('refuses weak keys', () => {
    expect(() => new UrlSigner([])).toThrow();
    expect(() => new UrlSigner([{ kid: 'k', secret: Buffer.alloc(8) }])).toThrow();
    expect(() => generateSigningKey('bad kid!')).toThrow();
  });
});
