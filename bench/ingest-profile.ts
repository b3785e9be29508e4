/**
 * CPU profile of the batch ingestion service path alone (the service path of bench/ingest.ts: inspectToken per
 * event, settle, one commit per batch of 10,000, two in flight), started after setup and a warm-up round so the
 * profile holds no start-up (PGlite, module loading). Prints the CPU µs per event of each round and writes the
 * profile to $OUT (default /tmp/ingest.cpuprofile), to summarise by self and total time per function.
 *
 *   ROUNDS=4 BATCHES=5 node --import tsx bench/ingest-profile.ts
 */
import fs from 'node:fs';
import inspector from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { servingOf, trackingOf } from '../apps/server/src/app.ts';
import { createTestApp } from '../apps/server/src/testing/test-app.ts';
import type { Judged } from '../apps/server/src/tracking/tracking-service.ts';
import { seedWorld } from '../apps/server/src/tracking/tracking-world.ts';
import { signedTokens } from './bench-claims.ts';

const BATCH = 10_000,
  BATCHES = Number(process.env.BATCHES ?? 5),
  ROUNDS = Number(process.env.ROUNDS ?? 4);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'marquee-ingest-profile-'));
const t = await createTestApp({ config: { dataDir: path.join(work, 'service'), rollups: false } });
const w = await seedWorld(t.store);
await servingOf(t.app).state.waitFor((await t.store.feed.loadSnapshot()).seq);
const service = trackingOf(t.app).service!;
const signer = servingOf(t.app).signer;
const items = [
  { lineItemId: w.lineItems.cpm, placementId: w.placements.cpm, priceMicros: 4_000 },
  { lineItemId: w.lineItems.b, placementId: w.placements.b, priceMicros: 1_000 },
];
const tokens = (n: number) => signedTokens(signer, n, items);
const meta = { ip: '203.0.113.7', ua: 'bench', source: 'batch' };
async function round(all: string[]) {
  const inFlight: Promise<void>[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const nowMs = Date.now();
    const judged: Judged[] = new Array(BATCH);
    for (let i = 0; i < BATCH; i++)
      judged[i] = service.inspectToken('impression', all[b * BATCH + i]!, undefined, meta, nowMs);
    const settled = service.settle(judged);
    if (!Array.isArray(settled)) await settled;
    inFlight.push(service.commit(judged));
    if (inFlight.length >= 2) await inFlight.shift();
  }
  await Promise.all(inFlight);
}
await round(tokens(BATCH * BATCHES));
const session = new inspector.Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
let cpuTotal = 0,
  n = 0;
const toks = Array.from({ length: ROUNDS }, () => tokens(BATCH * BATCHES));
await session.post('Profiler.start');
for (let r = 0; r < ROUNDS; r++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await round(toks[r]!);
  const d = process.cpuUsage(c0);
  cpuTotal += d.user + d.system;
  n += BATCH * BATCHES;
  console.log(
    `round ${r}: ${Math.round((BATCH * BATCHES) / ((performance.now() - t0) / 1000))} events/s, cpu ${((d.user + d.system) / (BATCH * BATCHES)).toFixed(2)} µs/event`,
  );
}
const { profile } = await session.post('Profiler.stop');
fs.writeFileSync(process.env.OUT ?? '/tmp/ingest.cpuprofile', JSON.stringify(profile));
console.log(
  `cpu µs/event ${(cpuTotal / n).toFixed(2)}; load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
await t.close();
fs.rmSync(work, { recursive: true, force: true });
