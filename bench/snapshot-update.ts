/**
 * CPU per incremental snapshot update (one changed line item, applied to the latest snapshot as the change feed
 * does), at a given network size, beside a full rebuild of the same snapshot in the same run: what an update saves,
 * and what the compaction costs (a full rebuild: updateSnapshot declines an update that would take the delta layer
 * past MAX_DELTA_ITEMS, and serving-state.ts compacts in the background from a quarter of it). Also the cost of a
 * single-change update once the delta layer already holds 100, 500 and 1,900 line items (the delta index is
 * rebuilt from the delta's inputs on every update). CPU time (user + system of this process), not wall time:
 * steadier on a shared machine.
 *
 *   node --import tsx bench/snapshot-update.ts [line items = 100000] [updates = 40]
 */
import type { Change } from '@marquee/store';
import { change } from '../packages/decision/src/fixtures.ts';
import * as snapshots from '../packages/decision/src/serving-snapshot.ts';
import { buildServingSnapshot, rebuildSteps, type ServingSnapshot } from '../packages/decision/src/serving-snapshot.ts';
import { buildNetwork } from './selection-workload.ts';

const size = Number(process.argv[2] ?? 100_000);
const updates = Number(process.argv[3] ?? 40);
const NOW = Date.parse('2026-03-04T15:00:00Z');
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;
const f = (n: number) => n.toFixed(1);

/**
 * Runs stepped work to its end: its value, total CPU ms (this process, GC threads included) and the longest
 * step's wall ms (what a server running it in slices cannot go below: serving-state.ts yields between steps
 * only). Per-step CPU is not measurable here (the process's CPU includes the GC threads), and wall time includes
 * the other work of the shared machine: `stepped` runs the work `runs` times (snapshots are immutable, so an
 * update can be run again from the same one) and keeps the least of each.
 */
function stepped<T>(make: () => Generator<void, T, void>, runs = 1): { value: T; cpu: number; longest: number } {
  let best: { value: T; cpu: number; longest: number } | undefined;
  for (let k = 0; k < runs; k++) {
    const steps = make();
    const t0 = process.cpuUsage();
    let longest = 0;
    for (;;) {
      const t = performance.now();
      const r = steps.next();
      longest = Math.max(longest, performance.now() - t);
      if (r.done) {
        const cpu = cpuMs(t0);
        best = best
          ? { value: best.value, cpu: Math.min(best.cpu, cpu), longest: Math.min(best.longest, longest) }
          : { value: r.value, cpu, longest };
        break;
      }
    }
  }
  return best!;
}
const updateSteps: (
  s: ServingSnapshot,
  changes: readonly Change[],
  nowMs?: number,
) => Generator<void, ServingSnapshot | undefined, void> =
  (snapshots as { updateSteps?: typeof updateSteps }).updateSteps ??
  // biome-ignore lint/correctness/useYield: one step, on purpose
  function* (s, changes, nowMs) {
    return snapshots.updateSnapshot(s, changes, nowMs);
  };
const update = (s: ServingSnapshot, changes: readonly Change[], nowMs?: number, runs = 1) =>
  stepped(() => updateSteps(s, changes, nowMs), runs);

const net = buildNetwork(size, 20_000, size);
const lis = net.snapshot.entities.lineItem;
const built = buildServingSnapshot(net.snapshot, { nowMs: NOW });
let v = 0;
/**
 * `count` single-change updates in a row from `s` (line items picked from `at`): CPU ms of each, and of those that
 * merged the delta index's recent level into its older one (layers.older replaced; none before that existed).
 */
function singleUpdates(
  s: ServingSnapshot,
  count: number,
  at: number,
): { cpu: number[]; merges: { cpu: number; longest: number }[]; last: ServingSnapshot } {
  const cpu: number[] = [];
  const merges: { cpu: number; longest: number }[] = [];
  for (let i = 0; i < count; i++) {
    const x = lis[(at + i * 997) % lis.length]!;
    v++;
    const changes = [change(s.seq + 1, 'lineItem', { ...x, rateMicros: x.rateMicros + v, version: x.version + v })];
    const r = update(s, changes);
    const next = r.value;
    if (!next) throw new Error('the update fell back to a full rebuild');
    const layers = next.layers as { older?: unknown };
    // A merge: measured twice more from the same snapshot (the least of three).
    if (layers.older !== undefined && layers.older !== (s.layers as { older?: unknown }).older)
      merges.push(update(s, changes, undefined, 3));
    else cpu.push(r.cpu);
    s = next;
  }
  return { cpu, merges, last: s };
}
const { cpu: one, merges: firstMerges, last } = singleUpdates(built, updates, 0);
console.log(`snapshot of ${size.toLocaleString('en-US')} line items, ${updates} successive single-change updates`);
console.log(
  `CPU ms per update: median ${f(quantile(one, 0.5))}, p25 ${f(quantile(one, 0.25))}, p75 ${f(quantile(one, 0.75))}, max ${f(Math.max(...one))}${mergeText(firstMerges)}`,
);
// With a delta layer of `d` line items already (one batch update of d other line items, not timed).
for (const d of [100, 500, 1_900]) {
  if (d + 20 > lis.length) continue;
  const batch = lis
    .slice(lis.length - d)
    .map((x, i) =>
      change(built.seq + 1 + i, 'lineItem', { ...x, rateMicros: x.rateMicros + 1, version: x.version + 1 }),
    );
  const bulk = update(built, batch, NOW, 3);
  const withDelta = bulk.value;
  if (!withDelta) throw new Error('the batch fell back to a full rebuild');
  const { cpu, merges } = singleUpdates(withDelta, 40, 1);
  console.log(
    `  with ${d.toLocaleString('en-US')} line items in the delta (the bulk update of ${d}: ${f(bulk.cpu)} ms, longest step ${f(bulk.longest)} wall): CPU ms per single-change update median ${f(quantile(cpu, 0.5))}, p75 ${f(quantile(cpu, 0.75))}, max ${f(Math.max(...cpu))}${mergeText(merges)}`,
  );
}
function mergeText(merges: { cpu: number; longest: number }[]): string {
  return merges.length === 0
    ? ''
    : `; ${merges.length} merging the delta index's levels: ${merges.map((m) => `${f(m.cpu)} (longest step ${f(m.longest)} wall)`).join(', ')} ms`;
}
const full: number[] = [];
const longestSteps: number[] = [];
for (let i = 0; i < 3; i++) {
  const r = stepped(() => rebuildSteps(last, [], NOW));
  full.push(r.cpu);
  longestSteps.push(r.longest);
}
console.log(
  `CPU ms per full rebuild = the compaction of the delta layer (median of 3): ${f(quantile(full, 0.5))} (longest step ${longestSteps.map(f).join(', ')} ms wall); a single-change update costs ${(quantile(one, 0.5) / quantile(full, 0.5)).toFixed(4)}x a rebuild`,
);
