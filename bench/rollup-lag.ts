/**
 * The rollup consumer: how many events per second it rolls up from the embedded event log into SQL
 * (PGlite in process and PostgreSQL), beside its baseline from the same run, the pure in-memory
 * aggregation of the same events (the ceiling without SQL), and the consumer with one transaction per 20,000
 * records (its former batching); and the lag from an event to its report row while events are appended at a
 * steady rate in the same process (lag = commit time - event time, per event).
 *
 *   node --import tsx bench/rollup-lag.ts [--events 200000] [--rate 40000] [--seconds 10] [--backends pglite,postgres]
 */
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createFileEventLog, encodeEvents, type TrackingEvent } from '../packages/events/src/index.ts';
import { sampleEvent } from '../packages/events/src/testing/sample-events.ts';
import { aggregateEvents, RollupConsumer } from '../packages/reporting/src/index.ts';
import { createStore, type Store } from '../packages/store/src/index.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    rate: { type: 'string', default: '40000' },
    seconds: { type: 'string', default: '10' },
    backends: { type: 'string', default: 'pglite,postgres' },
  },
});
const EVENTS = Number(values.events);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const databaseUrl = process.env['MARQUEE_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Realistic cardinality: dimensions cycle over 2,000 combinations (sampleEvent's ids are all co-prime
 * cycles, so raw sampleEvent(i) makes every event its own row: the worst case, printed once as well).
 */
const events = (n: number, prefix: string, tsMs?: number, distinct = 2_000): TrackingEvent[] =>
  Array.from({ length: n }, (_, i) => {
    const e = { ...sampleEvent(i % distinct, prefix), eventId: `${prefix}-${i}` };
    return { ...e, tsMs: tsMs ?? 1_767_225_600_000 + (i % 1000) };
  });

async function withBackend<T>(backend: string, run: (store: Store) => Promise<T>): Promise<T> {
  const schema = `bench_rollup_${randomBytes(3).toString('hex')}`;
  const store = backend === 'postgres' ? await createStore({ databaseUrl, schema }) : await createStore({});
  try {
    return await run(store);
  } finally {
    await store.close();
    if (backend === 'postgres') {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    }
  }
}

const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'marquee-bench-rollup-'));
try {
  // Baseline: pure aggregation of the same events, decoded from the log's bytes (no SQL).
  const all = events(EVENTS, 'agg');
  const encoded = encodeEvents(all);
  const inMemory = (batch: ReturnType<typeof encodeEvents>) => {
    const t0 = performance.now();
    const decoded = batch.map((e) => JSON.parse(Buffer.from(e.data).toString()) as TrackingEvent);
    const agg = aggregateEvents(decoded, () => 7000);
    return { perSecond: batch.length / ((performance.now() - t0) / 1000), rows: agg.rows.length };
  };
  inMemory(encoded); // warm-up
  const base = inMemory(encoded);
  const worst = inMemory(encodeEvents(events(EVENTS, 'worst', undefined, EVENTS)));
  console.log(
    `baseline  decode+aggregate in memory: ${Math.round(base.perSecond).toLocaleString('en')} events/s (${base.rows} rows); ` +
      `every event its own row: ${Math.round(worst.perSecond).toLocaleString('en')} events/s`,
  );
  const aggSeconds = EVENTS / base.perSecond;
  let t = 0;

  for (const backend of values.backends.split(',')) {
    // Throughput: EVENTS already in the log, drained with the default batching (up to 200,000 records per
    // transaction, read 20,000 at a time), then with one transaction per 20,000 records (the former default).
    for (const [label, batchSize] of [
      ['rollup drain', undefined],
      ['rollup drain, 20,000 per transaction', 20_000],
    ] as const) {
      const rolled = await withBackend(backend, async (store) => {
        const log = await createFileEventLog({ dir: path.join(dir, `${backend}-drain-${batchSize ?? 'default'}`) });
        await log.append(encoded);
        let transactions = 0;
        const consumer = new RollupConsumer({
          log,
          store,
          ...(batchSize ? { batchSize } : {}),
          onCommit: () => transactions++,
        });
        t = performance.now();
        const n = await consumer.drain();
        const s = (performance.now() - t) / 1000;
        await log.close();
        return { n, s, transactions };
      });
      console.log(
        `${backend.padEnd(9)} ${label}: ${Math.round(rolled.n / rolled.s).toLocaleString('en')} events/s ` +
          `(${rolled.n.toLocaleString('en')} events in ${rolled.s.toFixed(2)} s, ${rolled.transactions} transactions; ` +
          `${(rolled.n / rolled.s / (EVENTS / aggSeconds)).toFixed(2)}x the in-memory baseline)`,
      );
    }

    // Lag under load: RATE events/s appended (every 50 ms) for SECONDS while the consumer follows.
    const lags = await withBackend(backend, async (store) => {
      const log = await createFileEventLog({ dir: path.join(dir, `${backend}-lag`) });
      const samples: number[] = [];
      let appended = 0;
      let transactions = 0;
      const consumer = new RollupConsumer({
        log,
        store,
        pollMs: 200,
        onCommit: (info) => {
          transactions++;
          // Every event of the batch carries its append time; the oldest waited longest.
          if (info.events > 0) samples.push(info.committedAtMs - info.minTsMs, info.committedAtMs - info.maxTsMs);
        },
      });
      consumer.start();
      // Every 50 ms, append what keeps the total at RATE × elapsed (so a slow tick is made up by the next one,
      // up to one second's worth): the rate printed is what was really appended.
      const start = Date.now();
      const end = start + SECONDS * 1000;
      let tick = 0;
      while (Date.now() < end) {
        const due = Math.min(RATE, Math.round((RATE * (Date.now() - start)) / 1000) - appended);
        if (due > 0) {
          await log.append(encodeEvents(events(due, `lag${tick++}`, Date.now())));
          appended += due;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const loadEnd = Date.now();
      const drainStart = Date.now();
      while (consumer.getStats().events < appended && Date.now() - drainStart < 120_000) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await consumer.stop();
      await log.close();
      const caughtUpMs = Date.now() - loadEnd;
      return { samples: samples.sort((a, b) => a - b), appended, seconds: SECONDS, transactions, caughtUpMs };
    });
    const q = (p: number) => lags.samples[Math.min(lags.samples.length - 1, Math.floor(p * lags.samples.length))] ?? 0;
    console.log(
      `${backend.padEnd(9)} lag at ${Math.round(lags.appended / lags.seconds).toLocaleString('en')} events/s: ` +
        `p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lags.samples.at(-1) ?? 0} ms (goal: under 60,000 ms); ` +
        `${lags.transactions} transactions, caught up ${lags.caughtUpMs} ms after the load stopped`,
    );
  }
} finally {
  await fsp.rm(dir, { recursive: true, force: true });
}
