/**
 * CPU per incremental snapshot update (one changed line item, applied to the latest snapshot as the change feed
 * does), at a given network size, beside a full rebuild of the same snapshot (what an update saves) in the same run.
 * CPU time (user + system of this process), not wall time: steadier on a shared machine.
 *
 *   node --import tsx bench/snapshot-update.ts [line items = 100000] [updates = 40]
 */
import { change } from '../packages/decision/src/fixtures.ts';
import {
  buildServingSnapshot,
  rebuildSteps,
  runToEnd,
  updateSnapshot,
} from '../packages/decision/src/serving-snapshot.ts';
import { buildNetwork } from './selection-workload.ts';

const size = Number(process.argv[2] ?? 100_000);
const updates = Number(process.argv[3] ?? 40);
const NOW = Date.parse('2026-03-04T15:00:00Z');
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;

const net = buildNetwork(size, 20_000, size);
const lis = net.snapshot.entities.lineItem;
let snap = buildServingSnapshot(net.snapshot, { nowMs: NOW });
const one: number[] = [];
for (let i = 0; i < updates; i++) {
  const x = lis[(i * 997) % lis.length]!;
  const t = process.cpuUsage();
  const next = updateSnapshot(snap, [
    change(snap.seq + 1, 'lineItem', { ...x, rateMicros: x.rateMicros + 1 + i, version: x.version + 1 + i }),
  ]);
  one.push(cpuMs(t));
  if (!next) throw new Error('the update fell back to a full rebuild');
  snap = next;
}
const full: number[] = [];
for (let i = 0; i < 3; i++) {
  const t = process.cpuUsage();
  runToEnd(rebuildSteps(snap, [], NOW));
  full.push(cpuMs(t));
}
const f = (n: number) => n.toFixed(1);
console.log(`snapshot of ${size.toLocaleString('en-US')} line items, ${updates} successive single-change updates`);
console.log(
  `CPU ms per update: median ${f(quantile(one, 0.5))}, p25 ${f(quantile(one, 0.25))}, p75 ${f(quantile(one, 0.75))}, max ${f(Math.max(...one))}`,
);
console.log(
  `CPU ms per full rebuild (baseline, median of 3): ${f(quantile(full, 0.5))}; an update costs ${(quantile(one, 0.5) / quantile(full, 0.5)).toFixed(4)}x a rebuild`,
);
