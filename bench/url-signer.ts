/**
 * Tracking token verification, CPU time per token, each candidate beside its baseline in the same run (rounds
 * interleaved; process CPU time, not wall time, so other processes on the machine weigh less):
 *
 *   HMAC-SHA256 of one payload:  createHmac(KeyObject) per token  vs  HmacSha256 (precomputed pads: one native
 *                                 crypto.hash for the inner hash, the outer one compression in JavaScript)
 *                                 vs  two native crypto.hash calls (the pads precomputed, no JavaScript SHA-256);
 *   verify a genuine token:       the previous UrlSigner.verify (bench/url-signer-baseline.ts)  vs  UrlSigner.verify;
 *   verify a forged token:        the same two (a valid-looking payload, a wrong signature).
 *
 *   node --import tsx bench/url-signer.ts [--rounds 30] [--n 20000]
 */
import { createHmac, createSecretKey, hash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { HmacSha256 } from '../packages/tracking/src/hmac-sha256.ts';
import { UrlSigner } from '../packages/tracking/src/url-signer.ts';
import { benchClaims } from './bench-claims.ts';
import { cpuRounds, loadAverage, printCpuTable } from './cpu-rounds.ts';
import { CreateHmacUrlSigner } from './url-signer-baseline.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '30' }, n: { type: 'string', default: '20000' } },
});
const ROUNDS = Number(values.rounds);
const N = Number(values.n);

const secret = randomBytes(32);
const keys = [{ kid: 'k1', secret }];
const signer = new UrlSigner(keys);
const baseline = new CreateHmacUrlSigner(keys);
const now = Date.now();
// Ids of real length (the server's prefixed ids), so the token is the size a decision hands out.
const AD = {
  lineItemId: 'li_0123456789abcdef01234567',
  creativeId: 'cr_0123456789abcdef01234567',
  campaignId: 'cmp_0123456789abcdef0123456',
  advertiserId: 'adv_0123456789abcdef0123456',
  placementId: 'plc_0123456789abcdef0123456',
  siteId: 'site_0123456789abcdef012345',
  publisherId: 'pub_0123456789abcdef0123456',
  priceMicros: 4_000,
};
const tokens = Array.from({ length: N }, (_, i) => signer.sign(benchClaims(AD, i, now)));
const payloads = tokens.map((t) => t.split('.')[1]!);
// Forged: a genuine payload with another token's signature.
const forged = tokens.map((t, i) => `${t.slice(0, t.lastIndexOf('.'))}.${tokens[(i + 1) % N]!.split('.')[2]}`);
for (let i = 0; i < N; i++) {
  if (baseline.verify('impression', tokens[i]!, now).kind !== 'valid') throw new Error('baseline refused a token');
  if (signer.verify('impression', tokens[i]!, now).kind !== 'valid') throw new Error('verify refused a token');
  if (signer.verify('impression', forged[i]!, now).kind !== 'invalid') throw new Error('verify took a forgery');
}

const keyObject = createSecretKey(secret);
const hmac = new HmacSha256(secret);
const k0 = Buffer.alloc(64);
k0.set(secret);
const ipad = Buffer.from(k0.map((b) => b ^ 0x36));
const scratch = Buffer.allocUnsafe(64 + 8192);
ipad.copy(scratch);
const outer = Buffer.alloc(96);
Buffer.from(k0.map((b) => b ^ 0x5c)).copy(outer);
for (const p of payloads.slice(0, 100)) {
  hmac.macText(p);
  const want = createHmac('sha256', keyObject).update(p).digest();
  const n = scratch.write(p, 64, 'utf8');
  hash('sha256', scratch.subarray(0, 64 + n), 'buffer').copy(outer, 64);
  if (!hmac.digest().equals(want) || !hash('sha256', outer, 'buffer').equals(want)) throw new Error('HMAC differs');
}

let sink = 0;
const cases: Record<string, () => void> = {
  'hmac: createHmac per token (baseline)': () => {
    for (let i = 0; i < N; i++) sink += createHmac('sha256', keyObject).update(payloads[i]!).digest()[0]!;
  },
  'hmac: HmacSha256 (native inner, JS outer)': () => {
    for (let i = 0; i < N; i++) {
      hmac.macText(payloads[i]!);
      sink += hmac.out[0]!;
    }
  },
  'hmac: two native crypto.hash calls': () => {
    for (let i = 0; i < N; i++) {
      const n = scratch.write(payloads[i]!, 64, 'utf8');
      hash('sha256', scratch.subarray(0, 64 + n), 'buffer').copy(outer, 64);
      sink += hash('sha256', outer, 'buffer')[0]!;
    }
  },
  'verify genuine: previous verify (baseline)': () => {
    for (let i = 0; i < N; i++) sink += baseline.verify('impression', tokens[i]!, now).kind.length;
  },
  'verify genuine: UrlSigner.verify': () => {
    for (let i = 0; i < N; i++) sink += signer.verify('impression', tokens[i]!, now).kind.length;
  },
  'verify forged: previous verify (baseline)': () => {
    for (let i = 0; i < N; i++) sink += baseline.verify('impression', forged[i]!, now).kind.length;
  },
  'verify forged: UrlSigner.verify': () => {
    for (let i = 0; i < N; i++) sink += signer.verify('impression', forged[i]!, now).kind.length;
  },
};

const times = cpuRounds(cases, ROUNDS, N);
console.log(
  `token verification, ${N} tokens of ${Math.round(tokens.reduce((s, t) => s + t.length, 0) / N)} chars, ` +
    `${ROUNDS} interleaved rounds, CPU µs per token (median, min); load average ${loadAverage()}\n`,
);
printCpuTable(times, 'token');
if (sink === 0.5) console.log(sink);
