/**
 * In-process A/B of the CPC / CPA rank bound on one network: the default snapshot (bounds from the
 * predictor's ceilings) against a snapshot of the same rates without ceilings (the best bound of the
 * tier, as before 2026-11-27 14:00), in alternating short rounds in one process so that both see the
 * same load; prints the medians and the median of the per-round ratios.
 *
 *   node --import tsx bench/selection-bounds-ab.ts 100000 15     (line items, rounds of 2 x 0.4 s)
 */
import {
  buildServingSnapshot,
  decide,
  FixedPriorPredictor,
  mulberry32,
  type RatePredictor,
} from '../packages/decision/src/index.ts';
import { buildNetwork } from './selection-workload.ts';

const NOW = Date.parse('2026-03-04T15:00:00Z');
const size = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 20);
const net = buildNetwork(size, 20_000, size);
const prior = new FixedPriorPredictor();
const tierBounds: RatePredictor = { ctrPpm: (li) => prior.ctrPpm(li), cvrPpm: (li) => prior.cvrPpm(li) };
const a = buildServingSnapshot(net.snapshot, { nowMs: NOW });
const b = buildServingSnapshot(net.snapshot, { nowMs: NOW, predictor: tierBounds });
const rng = mulberry32(7);
function run(s: typeof a, ms: number) {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 50; i++) decide(net.requests[n++ % net.requests.length]!, s, NOW, rng);
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}
run(a, 500);
run(b, 500);
const ra: number[] = [],
  rb: number[] = [],
  ratio: number[] = [];
for (let r = 0; r < rounds; r++) {
  const x = run(a, 400),
    y = run(b, 400);
  ra.push(x);
  rb.push(y);
  ratio.push(x / y);
}
const med = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1]!;
console.log(
  `${size}: ceilings median ${Math.round(med(ra))}/s, tier bounds ${Math.round(med(rb))}/s, median ratio ${med(ratio).toFixed(2)}x`,
);
