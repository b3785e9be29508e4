/**
 * Decision latency while the serving snapshot is updated, through the server's own serving state
 * (apps/server/src/serving/serving-state.ts: its slicing, merges and compaction), in one process at 100k
 * line items: requests arrive open loop at a fixed rate and are decided on `state.current` on the same event
 * loop as the updates, as in a serving process. Phases, each with its p50 / p99 / max:
 *
 *   quiet                       no changes
 *   1 change every 100 ms       one line item per change (the delta index's levels merge every 32)
 *   bulk of 350                 350 line items at once (a bulk status change), then single changes
 *   compaction                  100 more line items at once take the delta past compactAt (500): the full
 *                               rebuild runs in slices while single changes go on; until it is swapped in
 *
 * BENCH_BASE_ROOT=<another tree, npm ci done> runs the same phases with that tree's serving state and decision
 * package in a child process, alternating with this tree's (BENCH_ROUNDS rounds each, default 2). Also prints the
 * decisions/s on the fresh and the updated snapshot, and the heap.
 *
 *   node --expose-gc --import tsx bench/snapshot-latency.ts [line items = 100000]
 *   BENCH_RATE=2000 (requests/s; default 2,000)  BENCH_ROUNDS=2  BENCH_BASE_ROOT=/tmp/base
 */
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Change } from '../packages/store/src/ports.ts';
import { buildNetwork } from './selection-workload.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const size = Number(process.argv[2] ?? 100_000);
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const NOW = Date.parse('2026-03-04T15:00:00Z');
const child = process.env.BENCH_CHILD_ROOT;

if (!child) {
  const roots = [resolve(HERE, '..')];
  if (process.env.BENCH_BASE_ROOT) roots.push(resolve(process.env.BENCH_BASE_ROOT));
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  console.log(`${size.toLocaleString('en-US')} line items, ${RATE}/s open loop; p50 / p99 / max ms`);
  for (let r = 0; r < rounds; r++) {
    // Alternate the order between rounds (a drift of the machine weighs on both).
    const order = r % 2 === 0 ? roots : [...roots].reverse();
    for (const root of order) {
      const out = execFileSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), String(size)],
        { env: { ...process.env, BENCH_CHILD_ROOT: root }, encoding: 'utf8', maxBuffer: 1 << 24 },
      );
      console.log(`round ${r + 1}, ${root === roots[0] ? 'this tree' : `base ${root}`} (load ${loadavg()}):`);
      console.log(out.trimEnd());
    }
  }
} else {
  await runPhases(child);
}

function loadavg(): string {
  return execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
}

async function runPhases(root: string): Promise<void> {
  const { createServingState } = (await import(join(root, 'apps/server/src/serving/serving-state.ts'))) as {
    createServingState: typeof import('../apps/server/src/serving/serving-state.ts').createServingState;
  };
  const { decide } = (await import(join(root, 'packages/decision/src/decide.ts'))) as {
    decide: typeof import('../packages/decision/src/decide.ts').decide;
  };
  const { mulberry32 } = (await import(join(root, 'packages/decision/src/rng.ts'))) as {
    mulberry32: (seed: number) => () => number;
  };
  const net = buildNetwork(size, 20_000, size);
  const lis = net.snapshot.entities.lineItem;
  let deliver: ((changes: Change[]) => void) | undefined;
  const noop = () => {};
  const logger = { info: noop, debug: noop, warn: noop, error: console.error } as never;
  const state = await createServingState({
    feed: {
      loadSnapshot: async () => net.snapshot,
      readSince: async () => [],
      follow: (_after, onChanges) => {
        deliver = (c) => void onChanges(c);
        return async () => {};
      },
    },
    assets: { get: async () => undefined } as never,
    publicUrl: 'http://localhost',
    logger,
    now: () => NOW,
    compactAt: 500,
  });
  let seq = state.current.seq;
  let v = 0;
  const changeItems = (from: number, count: number) => {
    const changes: Change[] = [];
    for (let i = 0; i < count; i++) {
      const x = lis[(from + i) % lis.length]!;
      v++;
      changes.push({
        seq: ++seq,
        kind: 'lineItem',
        id: x.id,
        op: 'update',
        entity: { ...x, rateMicros: x.rateMicros + v, version: x.version + v },
        at: '2026-03-04T15:00:00.000Z',
      } as Change);
    }
    deliver!(changes);
  };
  const rng = mulberry32(3);
  /** Serves open loop for `ms` (or until `until()`), with `tick` called every 100 ms; p50 / p99 / max. */
  const serve = async (ms: number, tick?: (n: number) => void, until?: () => boolean) => {
    const lat: number[] = [];
    const interval = 1000 / RATE;
    const t0 = performance.now();
    let k = 0;
    let ticks = 0;
    for (;;) {
      const now = performance.now();
      if (until ? until() || now - t0 > 120_000 : now - t0 >= ms) break;
      if (tick && now - t0 >= ticks * 100) tick(ticks++);
      for (
        const turn = performance.now();
        t0 + k * interval <= performance.now() && performance.now() - turn < 50;
        k++
      ) {
        decide(net.requests[k % net.requests.length]!, state.current, NOW, rng);
        lat.push(performance.now() - (t0 + k * interval));
      }
      await new Promise((r) => setImmediate(r));
    }
    lat.sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(2);
    return `${q(0.5)} / ${q(0.99)} / ${lat[lat.length - 1]!.toFixed(1)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`;
  };
  const rate = (ms: number) => {
    const t0 = performance.now();
    let k = 0;
    while (performance.now() - t0 < ms) {
      for (let i = 0; i < 200; i++, k++) decide(net.requests[k % net.requests.length]!, state.current, NOW, rng);
    }
    return Math.round((k * 1000) / (performance.now() - t0)).toLocaleString('en-US');
  };
  const delta = () => state.current.lineItems.length - state.current.layers.baseItems;
  rate(1500); // warm-up (JIT), then the build's garbage collected before anything is measured
  (globalThis as { gc?: () => void }).gc?.();
  const fresh = rate(1500);
  const quiet = await serve(5000);
  let at = 1000;
  const single = () => changeItems(at++ * 7, 1);
  const singles = await serve(10_000, single);
  const afterSingles = delta();
  const updated = rate(1500);
  changeItems(50_000, 350);
  const bulk = await serve(4000, (n) => n > 0 && single());
  const afterBulk = delta();
  const baseItems = state.current.layers.baseItems;
  const lineItems = state.current.lineItems;
  changeItems(60_000, 100);
  // Until the compaction is swapped in (a new base), single changes going on.
  const compaction = await serve(
    0,
    (n) => n > 0 && single(),
    () => state.current.lineItems.base !== lineItems.base,
  );
  const afterCompaction = `${delta()} (base ${baseItems} -> ${state.current.layers.baseItems})`;
  (globalThis as { gc?: () => void }).gc?.();
  const heap = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  await state.stop();
  console.log(`  decisions/s: fresh snapshot ${fresh}, after 100 single changes ${updated}; heap ${heap} MB`);
  console.log(`  quiet                            ${quiet}`);
  console.log(`  1 change every 100 ms            ${singles}  delta ${afterSingles}`);
  console.log(`  bulk of 350, then 1 every 100 ms ${bulk}  delta ${afterBulk}`);
  console.log(`  compaction, 1 every 100 ms       ${compaction}  delta ${afterCompaction}`);
}
