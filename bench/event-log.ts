/**
 * Batch ingestion into the embedded event log, durable (one fdatasync per group commit), against a plain
 * loop that appends the same bytes to a file with the same fsync policy (one write + one fdatasync per
 * group of the same size). Rounds alternate baseline and candidate; medians and ratios are printed.
 * Also: encoding cost (NDJSON vs a hand-written binary encoder) and NATS JetStream acked publish throughput.
 *
 *   node --import tsx bench/event-log.ts [--rounds 5] [--events 200000] [--nats-events 20000]
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  createFileEventLog,
  createNatsEventLog,
  type EncodedEvent,
  encodeEvent,
  type TrackingEvent,
} from '../packages/events/src/index.ts';
import { sampleEvent } from '../packages/events/src/testing/sample-events.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    events: { type: 'string', default: '200000' },
    'nats-events': { type: 'string', default: '20000' },
  },
});
const ROUNDS = Number(values.rounds);
const EVENTS = Number(values.events);
const NATS_EVENTS = Number(values['nats-events']);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const raw: TrackingEvent[] = Array.from({ length: EVENTS }, (_, i) => sampleEvent(i, 'bench'));
const encoded: EncodedEvent[] = raw.map(encodeEvent);
const avgBytes = encoded.reduce((s, e) => s + e.data.byteLength, 0) / encoded.length;

function chunk<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

async function tempDir() {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'marquee-bench-events-'));
}

/** The plain loop: concatenate each group's bytes, one write, one fdatasync. Returns events/s. */
async function baseline(groups: readonly (readonly EncodedEvent[])[]): Promise<number> {
  const dir = await tempDir();
  const fh = await fsp.open(path.join(dir, 'plain.log'), 'a');
  const t0 = performance.now();
  for (const group of groups) {
    const buf = Buffer.concat(group.map((e) => e.data));
    await fh.write(buf);
    await fh.datasync();
  }
  const ms = performance.now() - t0;
  await fh.close();
  await fsp.rm(dir, { recursive: true, force: true });
  return (EVENTS / ms) * 1000;
}

/** The FileEventLog with `appenders` concurrent callers each appending batches of `batch`. */
async function candidate(batch: number, appenders: number): Promise<{ rate: number; avgGroup: number }> {
  const dir = await tempDir();
  const log = await createFileEventLog({ dir });
  const batches = chunk(encoded, batch);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      while (next < batches.length) await log.append(batches[next++]!);
    }),
  );
  const ms = performance.now() - t0;
  const { groups, events } = log.stats();
  await log.close();
  await fsp.rm(dir, { recursive: true, force: true });
  return { rate: (EVENTS / ms) * 1000, avgGroup: events / groups };
}

async function scenario(label: string, batch: number, appenders: number) {
  const base: number[] = [];
  const cand: number[] = [];
  let groupSize = batch;
  // A warm-up candidate run tells the group size the log forms, which the baseline then uses.
  groupSize = Math.round((await candidate(batch, appenders)).avgGroup);
  const groups = chunk(encoded, groupSize);
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      base.push(await baseline(groups));
      cand.push((await candidate(batch, appenders)).rate);
    } else {
      cand.push((await candidate(batch, appenders)).rate);
      base.push(await baseline(groups));
    }
  }
  const ratios = cand.map((c, i) => c / base[i]!);
  console.log(
    `${label.padEnd(34)} group ~${String(groupSize).padStart(6)} ev | plain loop ${fmt(median(base)).padStart(10)} ev/s | FileEventLog ${fmt(median(cand)).padStart(10)} ev/s | ratio median ${median(ratios).toFixed(2)} (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})`,
  );
}

/** A compact binary encoding written field by field, to compare with JSON.stringify. */
function encodeBinary(e: TrackingEvent, out: Buffer): number {
  let off = 0;
  const str = (s: string) => {
    const n = out.write(s, off + 2, 'utf8');
    out.writeUInt16LE(n, off);
    off += 2 + n;
  };
  out[off++] = 1;
  str(e.kind);
  str(e.eventId);
  str(e.decisionId);
  str(e.lineItemId);
  str(e.creativeId);
  str(e.advertiserId);
  str(e.campaignId);
  str(e.publisherId);
  str(e.siteId);
  str(e.placementId);
  out.writeDoubleLE(e.tsMs, off);
  out.writeDoubleLE(e.priceMicros, off + 8);
  off += 16;
  str(e.country);
  str(e.deviceType);
  str(e.userKey);
  str(e.verdict);
  str(e.reason);
  str(e.ip ?? '');
  str(e.ua ?? '');
  return off;
}

function encodingBench() {
  const n = Math.min(EVENTS, 100_000);
  const json: number[] = [];
  const bin: number[] = [];
  const scratch = Buffer.allocUnsafe(4096);
  let binBytes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = performance.now();
    for (let i = 0; i < n; i++) encodeEvent(raw[i]!);
    json.push((n / (performance.now() - t0)) * 1000);
    t0 = performance.now();
    binBytes = 0;
    for (let i = 0; i < n; i++) {
      const len = encodeBinary(raw[i]!, scratch);
      binBytes += len;
      Buffer.from(scratch.subarray(0, len)); // own copy, as the log needs
    }
    bin.push((n / (performance.now() - t0)) * 1000);
  }
  console.log(
    `encoding: NDJSON ${fmt(median(json))} ev/s (${avgBytes.toFixed(0)} B/event) | binary ${fmt(median(bin))} ev/s (${(binBytes / n).toFixed(0)} B/event)`,
  );
}

async function natsBench() {
  const stream = `MQ_BENCH_EVENTS_${process.pid}`;
  let log: Awaited<ReturnType<typeof createNatsEventLog>>;
  try {
    log = await createNatsEventLog({
      servers: process.env['MARQUEE_TEST_NATS_URL'] ?? '127.0.0.1:4222',
      stream,
      subject: `mq.bench.events.${process.pid}`,
    });
  } catch (err) {
    console.log(`NATS: not measured (${String(err)})`);
    return;
  }
  try {
    const events = encoded.slice(0, NATS_EVENTS);
    const rates: number[] = [];
    for (let r = 0; r < Math.min(ROUNDS, 3); r++) {
      // Fresh ids each round, or JetStream's duplicate window would (correctly) drop them.
      const batch = events.map((e) => ({ id: `${e.id}-r${r}`, data: e.data }));
      const t0 = performance.now();
      for (const part of chunk(batch, 1000)) await log.append(part);
      rates.push((batch.length / (performance.now() - t0)) * 1000);
    }
    console.log(`NATS JetStream acked publish (batches of 1000, 1024 in flight): ${fmt(median(rates))} ev/s`);
  } finally {
    await log.destroy();
    await log.close();
  }
}

console.log(
  `event log bench: ${fmt(EVENTS)} events of ~${avgBytes.toFixed(0)} bytes per run, ${ROUNDS} alternating rounds, node ${process.version}, ${os.cpus().length} CPUs`,
);
encodingBench();
await scenario('batches of 1,000, one appender', 1000, 1);
await scenario('batches of 10,000, one appender', 10_000, 1);
await scenario('batches of 500, 8 appenders', 500, 8);
await natsBench();
