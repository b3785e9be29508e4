/**
 * Batch ingestion into the embedded event log, durable (one fdatasync per group commit), in events/s, beside a
 * plain loop that appends the same bytes to a file with one write + one fdatasync per batch (issue 4, "Speed"):
 *
 *   1. service: the tracking service without HTTP (TrackingService.inspectToken for every event, settle = the
 *      in-memory dedup claims, commit = ONE append of the batch + spend/attribution effects), in process;
 *   2. http: `POST /api/v1/events` on a real Marquee process (one core: one Node process), JSON arrays of signed
 *      impression tokens for distinct decisions, API key auth, CONCURRENCY batches in flight;
 *   3. baseline: the same number of events, the same encoded bytes per event, one write + fdatasync per batch;
 *   4. verify: UrlSigner.verify of the same tokens and nothing else (HMAC-SHA256 per event): the floor that token
 *      checking alone puts under the service path.
 *
 * Rounds alternate baseline / verify / service / http; medians and ratios are printed, and the service path's time
 * per event split into its steps. Goal: >= 300,000 events/s and >= 0.5x the plain loop.
 *
 *   node --import tsx bench/ingest.ts [--rounds 3] [--batch 10000] [--batches 10] [--concurrency 2] [--rollups false]
 *                                     [--format json|ndjson] [--paths baseline,verify,service,http] [--server-prof DIR]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/ingest.ts --paths service   # profile of the service path
 *   node --import tsx bench/ingest.ts --paths http --server-prof /tmp/prof-http   # profile of the Marquee process
 */
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { servingOf, trackingOf } from '../apps/server/src/app.ts';
import { startMarquee } from '../apps/server/src/testing/marquee-process.ts';
import { createTestApp } from '../apps/server/src/testing/test-app.ts';
import { createTrackingNetwork, signIn } from '../apps/server/src/testing/tracking-network.ts';
import type { Judged } from '../apps/server/src/tracking/tracking-service.ts';
import { seedWorld } from '../apps/server/src/tracking/tracking-world.ts';
import { encodeEvents } from '../packages/events/src/index.ts';
import { UrlSigner } from '../packages/tracking/src/url-signer.ts';
import { signedTokens } from './bench-claims.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    batch: { type: 'string', default: '10000' },
    batches: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '2' },
    // 'false' runs the Marquee process without its rollup consumer (which otherwise decodes and aggregates every
    // ingested event on the same core): the HTTP path alone.
    rollups: { type: 'string', default: 'true' },
    // The request body: a JSON array, or NDJSON (application/x-ndjson, one event per line).
    format: { type: 'string', default: 'json' },
    // Which paths to run (comma-separated), e.g. `--paths service` for a profile of the service path alone.
    paths: { type: 'string', default: 'baseline,verify,service,http' },
    // A directory: the Marquee process writes a CPU profile there when it stops (the HTTP path's server side).
    'server-prof': { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
const BATCHES = Number(values.batches);
const CONCURRENCY = Number(values.concurrency);
const EVENTS = BATCH * BATCHES;
const NDJSON = values.format === 'ndjson';
const PATHS = new Set(values.paths.split(','));
// The plain loop writes the service's bytes: it needs the service's warm-up.
if (PATHS.has('baseline')) PATHS.add('service');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'marquee-bench-ingest-'));

// ------------------------------------------------------------------ in-process service
const t = await createTestApp({ config: { dataDir: path.join(work, 'service'), rollups: false } });
const w = await seedWorld(t.store);
await servingOf(t.app).state.waitFor((await t.store.feed.loadSnapshot()).seq);
const service = trackingOf(t.app).service!;
const localSigner = servingOf(t.app).signer;
const localItems = [
  { lineItemId: w.lineItems.cpm, placementId: w.placements.cpm, priceMicros: 4_000 },
  { lineItemId: w.lineItems.b, placementId: w.placements.b, priceMicros: 1_000 },
];
let sampleBytes: Uint8Array[] = [];

/** Time of the service path's steps, ms, summed over the measured rounds (commit = until durable + effects). */
const steps = { inspect: 0, settle: 0, commit: 0, events: 0 };
/**
 * CPU time of this process per event (user + system, all threads: the log's write and fdatasync run on libuv's
 * pool), per in-process path: steadier than wall time on a loaded machine, where other processes take the cores.
 */
const cpu = { baseline: [] as number[], verify: [] as number[], service: [] as number[] };
function cpuSince(t0: NodeJS.CpuUsage, into: number[] | undefined): void {
  const d = process.cpuUsage(t0);
  into?.push((d.user + d.system) / EVENTS);
}

async function runService(measure = true, cpuInto?: number[]): Promise<number> {
  const all = signedTokens(localSigner, EVENTS, localItems);
  const meta = { ip: '203.0.113.7', ua: 'bench', source: 'batch' };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const nowMs = Date.now();
    const judged: Judged[] = new Array(BATCH);
    const a = performance.now();
    for (let i = 0; i < BATCH; i++) {
      judged[i] = service.inspectToken('impression', all[b * BATCH + i]!, undefined, meta, nowMs);
    }
    const s = performance.now();
    const settled = service.settle(judged);
    if (!Array.isArray(settled)) await settled;
    const c = performance.now();
    if (sampleBytes.length === 0) sampleBytes = encodeEvents(judged.map((j) => j.event)).map((e) => e.data);
    inFlight.push(
      service.commit(judged).then(() => {
        if (measure) steps.commit += performance.now() - c;
      }),
    );
    if (measure) {
      steps.inspect += s - a;
      steps.settle += c - s;
      steps.events += BATCH;
    }
    if (inFlight.length >= CONCURRENCY) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const rate = EVENTS / ((performance.now() - t0) / 1000);
  cpuSince(c0, cpuInto);
  return rate;
}

// ------------------------------------------------------------------ token verification alone
function runVerify(cpuInto?: number[]): number {
  const all = signedTokens(localSigner, EVENTS, localItems);
  const nowMs = Date.now();
  let valid = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < EVENTS; i++) if (localSigner.verify('impression', all[i]!, nowMs).kind === 'valid') valid++;
  const rate = EVENTS / ((performance.now() - t0) / 1000);
  cpuSince(c0, cpuInto);
  if (valid !== EVENTS) throw new Error(`verified ${valid} of ${EVENTS}`);
  return rate;
}

// ------------------------------------------------------------------ baseline
async function runBaseline(cpuInto?: number[]): Promise<number> {
  const file = await fsp.open(path.join(work, `plain-${randomBytes(3).toString('hex')}.log`), 'a');
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    // The same bytes per event as the service wrote (a sample batch, cycled), framed as the log frames them.
    let bytes = 0;
    for (let i = 0; i < BATCH; i++) bytes += 8 + sampleBytes[i % sampleBytes.length]!.byteLength;
    const buf = Buffer.allocUnsafe(bytes);
    let off = 0;
    for (let i = 0; i < BATCH; i++) {
      const data = sampleBytes[i % sampleBytes.length]!;
      buf.writeUInt32LE(data.byteLength, off);
      buf.writeUInt32LE(0, off + 4);
      buf.set(data, off + 8);
      off += 8 + data.byteLength;
    }
    await file.write(buf, 0, bytes);
    await file.datasync();
  }
  const rate = EVENTS / ((performance.now() - t0) / 1000);
  cpuSince(c0, cpuInto);
  await file.close();
  return rate;
}

// ------------------------------------------------------------------ over HTTP (a real Marquee process)
const key = randomBytes(32);
const marquee = PATHS.has('http')
  ? await startMarquee(
      {
        MARQUEE_DEMO_DATA: 'false',
        MARQUEE_ADMIN_PASSWORD: 'bench-admin-password',
        MARQUEE_RATE_LIMIT_PER_MINUTE: '100000000',
        MARQUEE_TRACKING_KEYS: `bench:${key.toString('base64url')}`,
        MARQUEE_DATA_DIR: path.join(work, 'marquee'),
        MARQUEE_ROLLUPS: values.rollups === 'false' ? 'false' : 'true',
      },
      90_000,
      values['server-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['server-prof']}`] : [],
    )
  : undefined;
const api = marquee ? await signIn(marquee.url, 'admin@localhost', 'bench-admin-password') : undefined;
const network = api ? await createTrackingNetwork(api, 2, 0) : undefined;
const remoteSigner = new UrlSigner([{ kid: 'bench', secret: key }]);
const remoteItems = (network?.lineItems ?? []).map((li) => ({
  lineItemId: li.id,
  placementId: li.placementId,
  priceMicros: Math.floor(li.rateMicros / 1000),
}));

async function runHttp(): Promise<number> {
  if (!marquee || !api) throw new Error('no Marquee process (--paths without http)');
  const all = signedTokens(remoteSigner, EVENTS, remoteItems);
  const bodies: string[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const items = all.slice(b * BATCH, (b + 1) * BATCH).map((token) => ({ kind: 'impression', token }));
    bodies.push(NDJSON ? items.map((item) => JSON.stringify(item)).join('\n') : JSON.stringify(items));
  }
  let next = 0;
  let accepted = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const res = await fetch(`${marquee.url}/api/v1/events`, {
          method: 'POST',
          headers: { ...api.headers, 'content-type': NDJSON ? 'application/x-ndjson' : 'application/json' },
          body,
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`batch: ${res.status} ${text.slice(0, 300)}`);
        accepted += (JSON.parse(text) as { accepted: number }).accepted;
      }
    }),
  );
  const rate = EVENTS / ((performance.now() - t0) / 1000);
  if (accepted !== EVENTS) throw new Error(`accepted ${accepted} of ${EVENTS}`);
  return rate;
}

const results = { baseline: [] as number[], verify: [] as number[], service: [] as number[], http: [] as number[] };
try {
  if (PATHS.has('service')) await runService(false); // warm-up (also fills sampleBytes)
  if (PATHS.has('verify')) runVerify();
  if (PATHS.has('http')) await runHttp();
  const last = (xs: number[]) => (xs.length ? fmt(xs.at(-1)!) : '-');
  for (let r = 0; r < ROUNDS; r++) {
    if (PATHS.has('baseline')) results.baseline.push(await runBaseline(cpu.baseline));
    if (PATHS.has('verify')) results.verify.push(runVerify(cpu.verify));
    if (PATHS.has('service')) results.service.push(await runService(true, cpu.service));
    if (PATHS.has('http')) results.http.push(await runHttp());
    console.log(
      `round ${r + 1}: baseline ${last(results.baseline)}  verify ${last(results.verify)}  ` +
        `service ${last(results.service)}  http ${last(results.http)} events/s`,
    );
  }
  const base = results.baseline.length ? median(results.baseline) : Number.NaN;
  const avg = sampleBytes.reduce((s, b) => s + b.byteLength, 0) / sampleBytes.length;
  console.log(
    `\nbatch ingestion, ${fmt(EVENTS)} impression events per round in batches of ${fmt(BATCH)} ` +
      `(${CONCURRENCY} in flight), ${Math.round(avg)} bytes/event, median of ${ROUNDS} rounds, ` +
      `rollup consumer in the Marquee process: ${values.rollups === 'false' ? 'off' : 'on'}, HTTP body: ` +
      `${NDJSON ? 'NDJSON' : 'JSON array'}\n`,
  );
  console.log('| path                                   | events/s  | vs plain loop | goal                 |');
  console.log('| -------------------------------------- | --------: | ------------: | -------------------- |');
  console.log(
    `| plain loop: write + fdatasync per batch | ${fmt(base).padStart(9)} | 1.00x         |                      |`,
  );
  for (const [name, label, goal] of [
    ['verify', 'UrlSigner.verify alone (no event)     ', '(floor of service)  '],
    ['service', 'TrackingService (no HTTP)             ', '>= 300,000, >= 0.5x'],
    ['http', 'POST /api/v1/events (Marquee process)  ', '>= 300,000, >= 0.5x'],
  ] as const) {
    const m = median(results[name]);
    console.log(`| ${label} | ${fmt(m).padStart(9)} | ${(m / base).toFixed(2)}x         | ${goal} |`);
  }
  const us = (ms: number) => ((ms * 1000) / steps.events).toFixed(2);
  console.log(
    `\nservice path, µs per event (all measured rounds): inspectToken ${us(steps.inspect)}, settle (dedup) ` +
      `${us(steps.settle)}, commit (encode + durable append + effects, ${CONCURRENCY} in flight) ${us(steps.commit)}; ` +
      `plain loop ${(1e6 / base).toFixed(2)}, verify alone ${(1e6 / median(results.verify)).toFixed(2)}`,
  );
  console.log(
    `CPU µs per event of this process (median of rounds, user + system, all threads): plain loop ` +
      `${median(cpu.baseline).toFixed(2)}, verify alone ${median(cpu.verify).toFixed(2)}, service path ` +
      `${median(cpu.service).toFixed(2)} (one core at 100% would give ${fmt(1e6 / median(cpu.service))} events/s); ` +
      `load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  );
} finally {
  await marquee?.stop();
  await t.close();
  await fsp.rm(work, { recursive: true, force: true });
}
