/**
 * Encoding a batch of tracking events for the log, CPU time per event, each candidate beside the baseline in the
 * same run (rounds interleaved; process CPU time, so other processes on the machine weigh less):
 *
 *   baseline:      Buffer.from(JSON.stringify(event)) per event (the encoder before the template);
 *   encodeEvent:   the template (stringifyEvent) + Buffer.from per event;
 *   encodeEvents:  the template per event, written into shared 256 KiB slabs (a view per event);
 *   + framing:     each of those plus what the file log does with the batch (CRC-32 + copy per record).
 *
 * The events have the shape of batch-ingested impressions (tracking-service eventFromClaims): 23 fields.
 *
 *   node --import tsx bench/event-codec.ts [--rounds 25] [--batch 10000]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type EncodedEvent, encodeEvent, encodeEvents, type TrackingEvent } from '../packages/events/src/index.ts';
import { writeFrame } from '../packages/events/src/record-frame.ts';
import { cpuRounds, loadAverage, printCpuTable } from './cpu-rounds.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '25' }, batch: { type: 'string', default: '10000' } },
});
const ROUNDS = Number(values.rounds);
const N = Number(values.batch);

const now = Date.now();
const events: TrackingEvent[] = Array.from({ length: N }, (_, i) => ({
  kind: 'impression',
  eventId: randomUUID(),
  decisionId: randomUUID(),
  lineItemId: 'li_0123456789abcdef01234567',
  creativeId: 'cr_0123456789abcdef01234567',
  advertiserId: 'adv_0123456789abcdef0123456',
  campaignId: 'cmp_0123456789abcdef0123456',
  publisherId: 'pub_0123456789abcdef0123456',
  siteId: 'site_0123456789abcdef012345',
  placementId: 'plc_0123456789abcdef0123456',
  tsMs: now,
  priceMicros: 4_000,
  country: 'US',
  deviceType: 'desktop',
  userKey: `u-${i % 10_000}`,
  verdict: 'valid',
  reason: '',
  ip: '203.0.113.7',
  ua: 'Mozilla/5.0 (X11; Linux x86_64) bench',
  source: 'batch',
  pricingModel: 'cpm',
  currency: 'USD',
  rateMicros: 4_000,
}));

const baseline = (es: readonly TrackingEvent[]): EncodedEvent[] =>
  es.map((e) => ({ id: e.eventId, data: Buffer.from(JSON.stringify(e)) }));
for (let i = 0; i < 100; i++) {
  const want = baseline([events[i]!])[0]!.data;
  if (!Buffer.from(want).equals(encodeEvent(events[i]!).data)) throw new Error('encodeEvent differs');
}
const check = encodeEvents(events.slice(0, 100));
for (let i = 0; i < 100; i++) {
  if (!Buffer.from(check[i]!.data).equals(baseline([events[i]!])[0]!.data as Buffer)) throw new Error('batch differs');
}

const frameBuf = Buffer.allocUnsafe(N * 1024);
const frame = (list: readonly EncodedEvent[]) => {
  let off = 0;
  for (let i = 0; i < list.length; i++) off = writeFrame(frameBuf, off, list[i]!.data);
  return off;
};
let sink = 0;
const cases: Record<string, () => void> = {
  'JSON.stringify + Buffer.from per event (baseline)': () => {
    sink += baseline(events).length;
  },
  'encodeEvent per event (template)': () => {
    for (let i = 0; i < N; i++) sink += encodeEvent(events[i]!).data.byteLength;
  },
  'encodeEvents (template, shared 256 KiB slabs)': () => {
    sink += encodeEvents(events).length;
  },
  '+ frames: baseline encode (baseline)': () => {
    sink += frame(baseline(events));
  },
  '+ frames: encodeEvents': () => {
    sink += frame(encodeEvents(events));
  },
};

const times = cpuRounds(cases, ROUNDS, N);
const bytes = check.reduce((s, e) => s + e.data.byteLength, 0) / check.length;
console.log(
  `event encoding, batches of ${N} events of ${Math.round(bytes)} bytes, ${ROUNDS} interleaved rounds, CPU µs per ` +
    `event (median, min); load average ${loadAverage()}\n`,
);
printCpuTable(times, 'event');
if (sink === 0.5) console.log(sink);
