/**
 * PGlite in this thread vs in a worker thread (the default): what a bulk write costs the main thread's event
 * loop. For each mode, in alternating rounds of the same run, a fresh in-memory store takes
 *   - a bulk management write: `lineItem.createMany` of 500 line items (one transaction), and
 *   - a rollup commit: `rollups.commit` of the hourly rows of 20,000 events (what the rollup consumer does),
 * while `perf_hooks.monitorEventLoopDelay` (1 ms resolution) watches this thread. Printed per mode (median of
 * the rounds): the event-loop delay max and p99 during the write, and the write's own time.
 *
 *   npm run bench -- pglite-thread [--rounds 3] [--items 500] [--events 20000]
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sampleEvent } from '../packages/events/src/testing/sample-events.ts';
import { aggregateEvents } from '../packages/reporting/src/index.ts';
import { fixtures } from '../packages/store/src/fixtures.ts';
import { createStore, type Store } from '../packages/store/src/index.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    items: { type: 'string', default: '500' },
    events: { type: 'string', default: '20000' },
  },
});
const ROUNDS = Number(values.rounds);
const ITEMS = Number(values.items);
const EVENTS = Number(values.events);
const actor = { userId: null, label: 'bench' };

type Mode = 'in-thread' | 'worker';
interface Sample {
  readonly writeMs: number;
  readonly maxMs: number;
  readonly p99Ms: number;
}
interface Round {
  readonly openMs: number;
  readonly createMany: Sample;
  readonly commit: Sample;
}

/** Runs `write` while the event-loop delay of this thread is recorded. */
async function watched(write: () => Promise<unknown>): Promise<Sample> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // Let the histogram's timer start before the write begins.
  await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  await write();
  const writeMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5));
  h.disable();
  return { writeMs, maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 };
}

const rollupRows = (prefix: string) =>
  aggregateEvents(
    Array.from({ length: EVENTS }, (_, i) => ({
      ...sampleEvent(i % 2_000, prefix),
      eventId: `${prefix}-${i}`,
      tsMs: 1_767_225_600_000 + (i % 1000),
    })),
    () => 7000,
  );

async function round(mode: Mode, n: number): Promise<Round> {
  const t0 = performance.now();
  const store: Store = await createStore({ pgliteThread: mode === 'worker' });
  const openMs = performance.now() - t0;
  try {
    const adv = await store.repos.advertiser.create(fixtures.advertiser({ name: `bench ${n}` }), actor);
    if (adv.kind !== 'ok') throw new Error('advertiser');
    const cmp = await store.repos.campaign.create(fixtures.campaign(adv.entity.id), actor);
    if (cmp.kind !== 'ok') throw new Error('campaign');
    const items = (k: number, tag: string) =>
      Array.from({ length: k }, (_, i) => fixtures.lineItem(adv.entity.id, cmp.entity.id, { name: `${tag} ${i}` }));
    // Warm-up (JIT, PGlite's caches): the same statements, not measured.
    await store.repos.lineItem.createMany(items(50, 'warm'), actor);
    const warm = rollupRows('warm');
    await store.rollups.commit('bench', '', 'w1', { rows: warm.rows, invalid: warm.invalid, records: EVENTS });

    const batch = items(ITEMS, 'bulk');
    const createMany = await watched(async () => {
      const result = await store.repos.lineItem.createMany(batch, actor);
      if (result.kind !== 'ok') throw new Error(`createMany: ${result.kind}`);
    });
    const rows = rollupRows(`r${n}`);
    const commit = await watched(async () => {
      const result = await store.rollups.commit('bench', 'w1', 'w2', {
        rows: rows.rows,
        invalid: rows.invalid,
        records: EVENTS,
      });
      if (result !== 'committed') throw new Error(`commit: ${result}`);
    });
    return { openMs, createMany, commit };
  } finally {
    await store.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => ms.toFixed(1).padStart(7);

const results: Record<Mode, Round[]> = { 'in-thread': [], worker: [] };
const rowsPerCommit = rollupRows('count').rows.length;
console.log(
  `PGlite in memory; ${ROUNDS} rounds alternating the order; createMany of ${ITEMS} line items, ` +
    `rollup commit of ${rowsPerCommit} rows (${EVENTS} events)`,
);
for (let r = 0; r < ROUNDS; r++) {
  const order: Mode[] = r % 2 === 0 ? ['in-thread', 'worker'] : ['worker', 'in-thread'];
  for (const mode of order) {
    const x = await round(mode, r);
    results[mode].push(x);
    console.log(
      `round ${r + 1} ${mode.padEnd(9)} open ${fmt(x.openMs)} ms | createMany ${fmt(x.createMany.writeMs)} ms, ` +
        `loop delay max ${fmt(x.createMany.maxMs)} p99 ${fmt(x.createMany.p99Ms)} ms | commit ${fmt(x.commit.writeMs)} ms, ` +
        `loop delay max ${fmt(x.commit.maxMs)} p99 ${fmt(x.commit.p99Ms)} ms`,
    );
  }
}
console.log(`\nmedians of ${ROUNDS} rounds (ms)           write   loop max   loop p99`);
for (const what of ['createMany', 'commit'] as const) {
  for (const mode of ['in-thread', 'worker'] as const) {
    const xs = results[mode].map((x) => x[what]);
    console.log(
      `${what.padEnd(10)} ${mode.padEnd(9)}              ${fmt(median(xs.map((x) => x.writeMs)))}    ${fmt(
        median(xs.map((x) => x.maxMs)),
      )}    ${fmt(median(xs.map((x) => x.p99Ms)))}`,
    );
  }
}
console.log(
  `open (createStore, migrations): in-thread ${fmt(median(results['in-thread'].map((x) => x.openMs)))} ms, ` +
    `worker ${fmt(median(results.worker.map((x) => x.openMs)))} ms`,
);
