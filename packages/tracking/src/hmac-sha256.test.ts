import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HmacSha256, MAX_MESSAGE_BYTES } from './hmac-sha256.ts';

describe('HmacSha256', () => {
  it('is HMAC-SHA256: equal to createHmac for any key length and any text, with or without a prefix', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.string({ maxLength: 1200, unit: 'binary' }),
        fc.constantFrom('', 'impression.', 'click.', 'ü.'),
        (key, text, prefix) => {
          const h = new HmacSha256(key);
          expect(h.macText(text, prefix)).toBe(true);
          const want = createHmac('sha256', key).update(prefix).update(text).digest();
          expect(h.digest()).toEqual(want);
          expect(h.digest(16)).toEqual(want.subarray(0, 16));
          const bytes = Buffer.from(prefix + text);
          expect(h.macBytes(bytes)).toBe(true);
          expect(h.digest()).toEqual(want);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('matches at every length around the SHA-256 block boundaries (padding)', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const h = new HmacSha256(key);
    for (let n = 0; n < 300; n++) {
      const text = 'a'.repeat(n);
      h.macText(text);
      expect(h.digest()).toEqual(createHmac('sha256', key).update(text).digest());
    }
  });

  it('passes the RFC 4231 test vectors (cases 1, 2 and 6: short key, short text, key longer than a block)', () => {
    const cases = [
      [Buffer.alloc(20, 0x0b), 'Hi There', 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
      [
        Buffer.from('Jefe'),
        'what do ya want for nothing?',
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      ],
      [
        Buffer.alloc(131, 0xaa),
        'Test Using Larger Than Block-Size Key - Hash Key First',
        '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      ],
    ] as const;
    for (const [key, text, hex] of cases) {
      const h = new HmacSha256(key);
      h.macText(text);
      expect(h.digest().toString('hex')).toBe(hex);
    }
  });

  it('equals createHmac over many messages through one instance (kept views by length; text and bytes)', () => {
    const key = randomBytes(32);
    const h = new HmacSha256(key);
    for (let i = 0; i < 5000; i++) {
      // Lengths cluster like tokens' (a few around 420) and spread to both sides of the kept views' limit.
      const n = i % 5 === 0 ? Math.floor(Math.random() * 6000) : 418 + (i % 4);
      const bytes = randomBytes(n);
      const want = createHmac('sha256', key).update(bytes).digest();
      if (i % 2 === 0) {
        const text = bytes.toString('base64url').slice(0, n);
        expect(h.macText(text)).toBe(true);
        expect(h.digest()).toEqual(createHmac('sha256', key).update(text).digest());
      } else {
        expect(h.macBytes(bytes)).toBe(true);
        expect(h.digest()).toEqual(want);
      }
    }
  });

  it('refuses (false, no throw) a message longer than its buffer', () => {
    const h = new HmacSha256(Buffer.alloc(32, 1));
    expect(h.macText('x'.repeat(MAX_MESSAGE_BYTES))).toBe(false);
    expect(h.macBytes(Buffer.alloc(MAX_MESSAGE_BYTES + 1))).toBe(false);
    expect(h.macText('x'.repeat(8192))).toBe(true);
  });
});
