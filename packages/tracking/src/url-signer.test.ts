import { createHmac } from 'node:crypto';
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
    const t = s.sign(claims);
    expect(s.verify('impression', t, now)).toEqual({ kind: 'valid', claims, kid: 'k1' });
  });

  it('signs one token per ad that verifies for every event kind, landing URL included', () => {
    const s = new UrlSigner([k1]);
    const t = s.sign({ ...claims, url: 'https://example.com/land?a=1' });
    for (const kind of ['impression', 'viewable', 'click', 'custom'] as const) {
      expect(s.verify(kind, t, now)).toMatchObject({ kind: 'valid', claims: { url: 'https://example.com/land?a=1' } });
    }
    expect(s.sign(claims).length).toBeLessThan(400);
  });

  it('still verifies version 1 tokens (one MAC per kind) until they expire, each only as its own kind', () => {
    const s = new UrlSigner([k1]);
    const fields = JSON.parse(Buffer.from(s.sign(claims).split('.')[1]!, 'base64url').toString()) as unknown[];
    fields[0] = 1;
    const payload = Buffer.from(JSON.stringify(fields)).toString('base64url');
    const v1 = (kind: string) =>
      `k1.${payload}.${createHmac('sha256', k1.secret).update(`${kind}.${payload}`).digest().subarray(0, 16).toString('base64url')}`;
    expect(s.verify('impression', v1('impression'), now)).toEqual({ kind: 'valid', claims, kid: 'k1' });
    expect(s.verify('click', v1('impression'), now)).toMatchObject({ reason: 'bad_signature' });
    expect(s.verify('impression', v1('impression'), claims.exp + 1)).toMatchObject({ reason: 'expired' });
    // A version 2 MAC does not make a version 1 payload valid, nor the reverse.
    const v2sig = s.sign(claims).split('.')[2]!;
    expect(s.verify('impression', `k1.${payload}.${v2sig}`, now)).toMatchObject({ reason: 'bad_signature' });
  });

  it('refuses expired tokens but says who they were for', () => {
    const s = new UrlSigner([k1]);
    const r = s.verify('impression', s.sign(claims), claims.exp + 1);
    expect(r).toMatchObject({ kind: 'invalid', reason: 'expired', claims: { decisionId: 'd_1' } });
  });

  it('rotates keys: new tokens use the first key, old keys still verify, dropped keys do not', () => {
    const old = new UrlSigner([k1]).sign({ ...claims, url: 'https://example.com' });
    const rotated = new UrlSigner([k2, k1]);
    expect(rotated.sign(claims).startsWith('k2.')).toBe(true);
    expect(rotated.verify('click', old, now).kind).toBe('valid');
    expect(new UrlSigner([k2]).verify('click', old, now)).toMatchObject({ reason: 'unknown_key' });
  });

  it('detects any altered character', () => {
    const s = new UrlSigner([k1]);
    const t = s.sign({ ...claims, priceMicros: 1 });
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
    const token = s.sign(claims);
    const fields = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as unknown[];
    fields[13] = -5; // priceMicros
    const forged = `k1.${Buffer.from(JSON.stringify(fields)).toString('base64url')}.AAAA`;
    expect(s.verify('impression', forged, now)).toEqual({ kind: 'invalid', reason: 'malformed' });
  });

  it('verifies tokens whose MAC was computed with createHmac (every token already issued), any key length', () => {
    for (const secret of [Buffer.alloc(16, 7), Buffer.alloc(32, 9), Buffer.alloc(100, 3)]) {
      const s = new UrlSigner([{ kid: 'old', secret }]);
      const payload = s.sign(claims).split('.')[1]!;
      const sig = createHmac('sha256', secret).update(payload).digest().subarray(0, 16).toString('base64url');
      expect(s.sign(claims)).toBe(`old.${payload}.${sig}`);
      expect(s.verify('impression', `old.${payload}.${sig}`, now)).toEqual({ kind: 'valid', claims, kid: 'old' });
    }
  });

  it('accepts only the canonical spelling of a signature (the unused low bits of its last character are zero)', () => {
    const s = new UrlSigner([k1]);
    const t = s.sign(claims);
    const last = t.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const v = alphabet.indexOf(last);
    expect(v & 15).toBe(0);
    for (let low = 1; low < 16; low++) {
      const other = `${t.slice(0, -1)}${alphabet[v | low]}`;
      // Same bytes once decoded, another text: refused.
      expect(Buffer.from(other.split('.')[2]!, 'base64url')).toEqual(Buffer.from(t.split('.')[2]!, 'base64url'));
      expect(s.verify('impression', other, now)).toMatchObject({ reason: 'bad_signature' });
    }
  });

  it('refuses any character outside base64url, in the payload or the signature (no lossy byte conversion)', () => {
    const s = new UrlSigner([k1]);
    const t = s.sign(claims);
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: t.length - 1 }),
        fc.constantFrom('\u0141', '\u0100', '\u00c1', '\uffff', '\ud800', '=', '+', '/'),
        (i, ch) => {
          fc.pre(t[i] !== '.');
          const altered = t.slice(0, i) + ch + t.slice(i + 1);
          expect(s.verify('impression', altered, now).kind).toBe('invalid');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('checks the MAC before decoding: a forged token is bad_signature and carries no claims', () => {
    const s = new UrlSigner([k1]);
    const t = s.sign(claims);
    const forgedPayload = Buffer.from(
      JSON.stringify([2, ...Array(12).fill('x'), 1, 'cpm', 0, 9e12, null, null]),
    ).toString('base64url');
    expect(s.verify('impression', `k1.${forgedPayload}.${t.split('.')[2]}`, now)).toEqual({
      kind: 'invalid',
      reason: 'bad_signature',
    });
    // Not JSON at all, but shaped like a token: still only the MAC is looked at.
    expect(s.verify('impression', `k1.WzIsAAAA.${t.split('.')[2]}`, now)).toEqual({
      kind: 'invalid',
      reason: 'bad_signature',
    });
  });

  it('refuses weak keys', () => {
    expect(() => new UrlSigner([])).toThrow();
    expect(() => new UrlSigner([{ kid: 'k', secret: Buffer.alloc(8) }])).toThrow();
    expect(() => generateSigningKey('bad kid!')).toThrow();
  });
});
