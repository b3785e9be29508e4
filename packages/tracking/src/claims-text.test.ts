import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseClaimsGeneral, parseClaimsText } from './claims-text.ts';

/** The payload text as the signer writes it (url-signer.ts encodeClaims, before base64url). */
function payload(version: number, strings: readonly string[], nums: readonly number[], tail: readonly unknown[]) {
  return JSON.stringify([version, ...strings, nums[0], 'cpm', nums[1], nums[2], ...tail]);
}

const base = payload(
  2,
  ['d_1', 'li_1', 'cr_1', 'cmp_1', 'adv_1', 'plc_1', 'site_1', 'pub_1', 'USD', 'u1', 'US', 'mobile'],
  [2500, 1_800_000_000_000, 1_800_003_600_000],
  [null, null],
);

/** Characters that matter to a JSON reader, to insert into or put in place of a payload's characters. */
const ODD = [
  '"',
  '\\',
  ',',
  '[',
  ']',
  ' ',
  '\n',
  '\u0001',
  '0',
  '9',
  '-',
  '.',
  'e',
  'n',
  'null',
  '1e3',
  '\\"',
  '\\u0041',
  'é',
  '\ud800',
  '"a"',
  ',"x"',
];

describe('parseClaimsText', () => {
  it('reads what the signer writes, with the same object as the general reader', () => {
    const c = parseClaimsText(base, 2);
    expect(c).toEqual({
      decisionId: 'd_1',
      lineItemId: 'li_1',
      creativeId: 'cr_1',
      campaignId: 'cmp_1',
      advertiserId: 'adv_1',
      placementId: 'plc_1',
      siteId: 'site_1',
      publisherId: 'pub_1',
      currency: 'USD',
      userKey: 'u1',
      country: 'US',
      device: 'mobile',
      priceMicros: 2500,
      pricingModel: 'cpm',
      iat: 1_800_000_000_000,
      exp: 1_800_003_600_000,
    });
    expect(Object.keys(c!)).toEqual(Object.keys(parseClaimsGeneral(base, 2)!));
    expect(parseClaimsText(base, 1)).toBeUndefined();
    const withUrl = payload(2, Array(12).fill('x'), [0, 1, 2], ['https://a.example/?q="1"\\', 'n']);
    expect(parseClaimsText(withUrl, 2)).toEqual(parseClaimsGeneral(withUrl, 2));
    expect(parseClaimsText(withUrl, 2)).toMatchObject({ url: 'https://a.example/?q="1"\\', name: 'n' });
  });

  it('gives the general reader answer for any claims the signer may write', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2),
        fc.array(fc.string({ unit: 'binary', maxLength: 600 }), { minLength: 12, maxLength: 12 }),
        fc.tuple(fc.nat(), fc.maxSafeNat(), fc.maxSafeNat()),
        fc.option(fc.oneof(fc.webUrl(), fc.string({ maxLength: 20 }))),
        fc.option(fc.string({ maxLength: 140 })),
        (version, strings, nums, url, name) => {
          const text = payload(version, strings, nums, [url, name]);
          for (const v of [1, 2] as const) {
            expect(parseClaimsText(text, v)).toStrictEqual(parseClaimsGeneral(text, v));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives the general reader answer for any change to a payload, and never throws', () => {
    const edit = fc.record({
      at: fc.nat({ max: base.length }),
      drop: fc.nat({ max: 3 }),
      insert: fc.oneof(fc.constantFrom(...ODD), fc.string({ maxLength: 3 }), fc.constant('')),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        let text = base;
        for (const e of edits) text = text.slice(0, e.at) + e.insert + text.slice(e.at + e.drop);
        expect(parseClaimsText(text, 2)).toStrictEqual(parseClaimsGeneral(text, 2));
      }),
      { numRuns: 3000 },
    );
  });

  it('decides numbers as JSON.parse does', () => {
    for (const n of [
      '0',
      '00',
      '01',
      '-1',
      '1e3',
      '1.0',
      '9007199254740991',
      '9007199254740992',
      '12345678901234567',
    ]) {
      const text = base.replace('2500', n);
      expect(parseClaimsText(text, 2)).toStrictEqual(parseClaimsGeneral(text, 2));
    }
    expect(parseClaimsText(base.replace('2500', '1e3'), 2)).toMatchObject({ priceMicros: 1000 });
    expect(parseClaimsText(base.replace('2500', '-1'), 2)).toBeUndefined();
  });
});
