/**
 * A profiling harness for decide() at one size: builds the network once, then runs the default path
 * for a few seconds (node --cpu-prof --import tsx bench/selection-profile.ts 100000 5000).
 *
 * A 5th argument `tier-bounds` builds the snapshot with a predictor of the same rates but without
 * ceilings (RatePredictor.maxCtrPpm): CPC and CPA line items then get the best bound of their tier,
 * as before the ceilings existed (an A/B of the rank bound on the same network).
 * Prints decisions/s, line items pulled from the index and candidates checked per decision, and the
 * heap allocated per decision (from process.memoryUsage deltas around a GC-free stretch, approximate).
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
const size = Number(process.argv[2] ?? 100_000);
const ms = Number(process.argv[3] ?? 5000);
const matcher = (process.argv[4] ?? 'index') as 'index' | 'full-index';
const bounds = process.argv[5] ?? 'ceilings';
const prior = new FixedPriorPredictor();
const predictor: RatePredictor =
  bounds === 'tier-bounds' ? { ctrPpm: (li) => prior.ctrPpm(li), cvrPpm: (li) => prior.cvrPpm(li) } : prior;
const net = buildNetwork(size, 20_000, size);
const snap = buildServingSnapshot(net.snapshot, { nowMs: NOW, predictor });
const rng = mulberry32(7);
let n = 0;
const t0 = performance.now();
let t = t0;
while (t - t0 < ms) {
  for (let i = 0; i < 100; i++) decide(net.requests[n++ % net.requests.length]!, snap, NOW, rng, { matcher });
  t = performance.now();
}
const perSec = Math.round((n * 1000) / (t - t0));

// Work per decision, counted in a separate pass (the counting wrappers are not in the timed loop).
const cursor = snap.index.ranked as { advance(): number; beginQuery(q: unknown): number } | undefined;
let visited = 0;
let pulled = 0;
let eager = 0;
let allowed = 0;
if (cursor) {
  const advance = cursor.advance.bind(cursor);
  const begin = cursor.beginQuery.bind(cursor);
  cursor.advance = () => {
    visited++;
    const item = advance();
    if (item >= 0) pulled++;
    return item;
  };
  cursor.beginQuery = (q) => {
    const k = begin(q);
    eager += k;
    return k;
  };
}
// The pacing gate is asked last, by candidates that passed every other rule (eligibility checked in full).
const pacing = {
  allow: () => {
    allowed++;
    return true;
  },
};
const sample = 2000;
for (let i = 0; i < sample; i++) decide(net.requests[i]!, snap, NOW, rng, { matcher, pacing });
// Heap allocated per decision: heapUsed growth over short GC-free stretches (run with a large young generation).
const deltas: number[] = [];
for (let k = 0; k < 9; k++) {
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 200; i++) decide(net.requests[(k * 200 + i) % net.requests.length]!, snap, NOW, rng, { matcher });
  const d = process.memoryUsage().heapUsed - before;
  if (d > 0) deltas.push(d / 200);
}
deltas.sort((a, b) => a - b);
console.log(
  `${size} line items, ${matcher}, ${bounds}: ${perSec.toLocaleString('en-US')} decisions/s; per decision: ` +
    `${(visited / sample).toFixed(1)} index entries visited, ${((pulled + eager) / sample).toFixed(1)} matched line items ` +
    `pulled, ${(allowed / sample).toFixed(2)} fully eligible candidates checked; ` +
    `~${deltas.length ? Math.round(deltas[deltas.length >> 1]!) : '?'} bytes allocated (median of ${deltas.length} stretches)`,
);
