/**
 * A profiling harness for decide() at one size: builds the network once, then runs the default path
 * for a few seconds (node --cpu-prof --import tsx bench/selection-profile.ts 100000 5000).
 */
import { buildServingSnapshot, decide, mulberry32 } from '../packages/decision/src/index.ts';
import { buildNetwork } from './selection-workload.ts';

const NOW = Date.parse('2026-03-04T15:00:00Z');
const size = Number(process.argv[2] ?? 100_000);
const ms = Number(process.argv[3] ?? 5000);
const matcher = (process.argv[4] ?? 'index') as 'index' | 'full-index';
const net = buildNetwork(size, 20_000, size);
const snap = buildServingSnapshot(net.snapshot, { nowMs: NOW });
const rng = mulberry32(7);
let n = 0;
const t0 = performance.now();
let t = t0;
while (t - t0 < ms) {
  for (let i = 0; i < 100; i++) decide(net.requests[n++ % net.requests.length]!, snap, NOW, rng, { matcher });
  t = performance.now();
}
console.log(`${size} line items, ${matcher}: ${Math.round((n * 1000) / (t - t0))} decisions/s`);
