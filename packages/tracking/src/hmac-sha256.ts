/**
 * HMAC-SHA256 (RFC 2104) of one key, computed for many short messages: the standard MAC, bit for bit what
 * `createHmac('sha256', key)` gives, with less work per message.
 *
 *   HMAC(K, m) = SHA256((K0 ^ opad) || SHA256((K0 ^ ipad) || m))
 *
 * - inner hash: ONE native one-shot `crypto.hash` of the ipad block (kept in a scratch buffer) followed by the
 *   message, written into the same buffer: no Hmac/Hash object per message. Its digest comes back as a
 *   32-character latin1 ('binary') string, not a Buffer (a Buffer per call, and the slow path of the 'buffer'
 *   encoding in `crypto.hash`, cost about as much as the hash itself), and the view of the scratch buffer it
 *   hashes is kept per message length;
 * - outer hash: the state after the (K0 ^ opad) block is computed once per key, and what is left per message is
 *   exactly one SHA-256 compression (the 32-byte inner digest plus padding), done here in JavaScript: cheaper
 *   than a second native call (whose fixed cost is most of a one-block hash; bench/url-signer.ts).
 *
 * The result stays in `out` (the first `words` 32-bit big-endian words of the MAC), so a caller can compare it
 * without allocating.
 */
import { hash } from 'node:crypto';

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/**
 * One SHA-256 compression: `state` (8 words) absorbs the 64-byte block whose first 16 words are in `w`
 * (`w` has room for 64 and is overwritten by the message schedule).
 */
export function compress(state: Int32Array, w: Int32Array): void {
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15]!;
    const y = w[t - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[t]! + w[t]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** Largest message, bytes (tokens are at most 8 KiB of text; room for UTF-8 of any such string). */
export const MAX_MESSAGE_BYTES = 4 * 8192;
/** Longest message whose view of the scratch buffer is kept (tokens: ~500 bytes). */
const VIEW_CACHE_BYTES = 64 + 4096;

export class HmacSha256 {
  /** The ipad block, followed by the message of the current call. */
  private readonly scratch = Buffer.allocUnsafe(64 + MAX_MESSAGE_BYTES);
  /** SHA-256 state after the (K0 ^ opad) block. */
  private readonly outerState = new Int32Array(8);
  private readonly w = new Int32Array(64);
  /** `scratch.subarray(0, n)` by n, made once per length (messages of one kind of token share a few lengths). */
  private readonly views = new Array<Buffer | undefined>(VIEW_CACHE_BYTES + 1);
  /** The MAC of the last `mac*` call, as 8 big-endian 32-bit words. */
  readonly out = new Int32Array(8);

  constructor(secret: Uint8Array) {
    const k0 = Buffer.alloc(64);
    if (secret.byteLength > 64) hash('sha256', secret, 'buffer').copy(k0);
    else k0.set(secret);
    for (let i = 0; i < 64; i++) this.scratch[i] = k0[i]! ^ 0x36;
    this.outerState.set(IV);
    for (let i = 0; i < 16; i++) this.w[i] = k0.readInt32BE(i * 4) ^ 0x5c5c5c5c;
    compress(this.outerState, this.w);
    k0.fill(0);
  }

  /**
   * MAC of `prefix + text` as UTF-8 (what `hmac.update(prefix).update(text)` hashes), into `out`. Returns false
   * (and computes nothing) when the UTF-8 is longer than MAX_MESSAGE_BYTES.
   */
  macText(text: string, prefix = ''): boolean {
    const s = this.scratch;
    let n = 64;
    if (prefix !== '') {
      if (prefix.length * 3 > MAX_MESSAGE_BYTES) return false;
      n += s.write(prefix, n, 'utf8');
    }
    if ((n - 64 + text.length) * 3 > MAX_MESSAGE_BYTES) return false;
    n += s.write(text, n, 'utf8');
    this.finish(hash('sha256', this.view(n), 'binary'));
    return true;
  }

  /** MAC of `data`, into `out`. */
  macBytes(data: Uint8Array): boolean {
    if (data.byteLength > MAX_MESSAGE_BYTES) return false;
    this.scratch.set(data, 64);
    this.finish(hash('sha256', this.view(64 + data.byteLength), 'binary'));
    return true;
  }

  /** The first n bytes of the scratch buffer (ipad block + message); views up to VIEW_CACHE_BYTES are kept. */
  private view(n: number): Buffer {
    if (n > VIEW_CACHE_BYTES) return this.scratch.subarray(0, n);
    let v = this.views[n];
    if (v === undefined) {
      v = this.scratch.subarray(0, n);
      this.views[n] = v;
    }
    return v;
  }

  /**
   * The outer hash: one compression of the inner digest (32 bytes as latin1 characters, one byte each) + padding
   * (0x80, zeros, length 96 bytes = 768 bits).
   */
  private finish(inner: string): void {
    const w = this.w;
    for (let i = 0; i < 8; i++) {
      const o = i * 4;
      w[i] =
        (inner.charCodeAt(o) << 24) |
        (inner.charCodeAt(o + 1) << 16) |
        (inner.charCodeAt(o + 2) << 8) |
        inner.charCodeAt(o + 3);
    }
    w[8] = 0x80000000 | 0;
    for (let i = 9; i < 15; i++) w[i] = 0;
    w[15] = 768;
    const out = this.out;
    out.set(this.outerState);
    compress(out, w);
  }

  /** The first `bytes` bytes of the last MAC (tests, signing). */
  digest(bytes = 32): Buffer {
    const b = Buffer.allocUnsafe(32);
    for (let i = 0; i < 8; i++) b.writeInt32BE(this.out[i]!, i * 4);
    return b.subarray(0, bytes);
  }
}
