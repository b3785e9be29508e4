/**
 * The `caps.load` call of a cluster worker (cluster/port-proxies.ts) on the wire: the capped candidates as one
 * object per line item ({ id, frequencyCaps }, the former format) against ids plus distinct caps texts (the
 * current one), each serialised and deserialised with the structured clone of `serialization: 'advanced'` IPC
 * (node:v8's DefaultSerializer, as child_process does), together with a request event and a cap record as in
 * a worker's batch. Both formats alternate round by round; CPU time per batch, medians.
 *
 *   npm run bench -- ipc-caps
 *   BENCH_CAPPED=20 BENCH_REQUESTS=4 BENCH_ROUNDS=60 npm run bench -- ipc-caps
 */
import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import type { FrequencyCap } from '@marquee/core';
import { capsLoadArgs, capsText } from '../apps/server/src/cluster/port-proxies.ts';

const CAPPED = Number(process.env.BENCH_CAPPED ?? 20);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
const PER_ROUND = 200;

// 250 capped line items with three cap settings, as a snapshot holds them (one caps array per line item).
const SETTINGS: FrequencyCap[][] = [
  [{ count: 5, per: 'day' }],
  [{ count: 3, per: 'hour' }],
  [
    { count: 1, per: 'minute', span: 10 },
    { count: 10, per: 'week' },
  ],
];
const lineItems = Array.from({ length: 250 }, (_, i) => ({
  id: randomUUID(),
  frequencyCaps: SETTINGS[i % 3]!.map((c) => ({ ...c })),
}));
let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const candidates = Array.from({ length: REQUESTS }, () =>
  Array.from({ length: CAPPED }, () => lineItems[Math.floor(rand() * lineItems.length)]!),
);
const event = () => ({
  id: randomUUID(),
  data: Buffer.from(
    JSON.stringify({ kind: 'request', eventId: randomUUID(), decisionId: randomUUID(), userKey: 'user-1', ts: 1 }),
  ),
});
const events = Array.from({ length: REQUESTS }, event);

type Batch = { rpc: 'marquee'; msgs: unknown[] };
const formats: Record<string, () => Batch> = {
  'objects (before)': () => ({
    rpc: 'marquee',
    msgs: candidates.flatMap((c, r) => [
      {
        t: 'q',
        id: 3 * r,
        m: 'caps.load',
        a: [`user-${r}`, c.map((li) => ({ id: li.id, frequencyCaps: li.frequencyCaps })), 1e12],
      },
      { t: 'q', id: 3 * r + 1, m: 'log.append', a: [[events[r]]] },
      { t: 'q', id: 3 * r + 2, m: 'caps.record', a: [`user-${r}`, c[0]!.id, c[0]!.frequencyCaps, 1e12, null] },
    ]),
  }),
  'strings (now)': () => ({
    rpc: 'marquee',
    msgs: candidates.flatMap((c, r) => [
      { t: 'q', id: 3 * r, m: 'caps.load', a: [`user-${r}`, ...capsLoadArgs(c), 1e12] },
      { t: 'q', id: 3 * r + 1, m: 'log.append', a: [[events[r]]] },
      {
        t: 'q',
        id: 3 * r + 2,
        m: 'caps.record',
        a: [`user-${r}`, c[0]!.id, capsText(c[0]!.frequencyCaps), 1e12, null],
      },
    ]),
  }),
};

// The primary's side of the current format: the line items rebuilt from ids and parsed caps texts.
const parsed = new Map<string, FrequencyCap[]>();
function receive(name: string, batch: Batch) {
  if (name !== 'strings (now)') return;
  for (const m of batch.msgs as { m: string; a: unknown[] }[]) {
    if (m.m !== 'caps.load') continue;
    const [, ids, sets, setOf] = m.a as [string, string[], string[], number[]];
    const caps = sets.map((t) => {
      let c = parsed.get(t);
      if (!c) {
        c = JSON.parse(t) as FrequencyCap[];
        parsed.set(t, c);
      }
      return c;
    });
    const out = ids.map((id, i) => ({ id, frequencyCaps: caps[setOf[i]!]! }));
    if (out.length !== ids.length) throw new Error('lost a line item');
  }
}

function roundTrip(name: string): number {
  const s = new v8.DefaultSerializer();
  s.writeHeader();
  s.writeValue(formats[name]!());
  const buf = s.releaseBuffer();
  const d = new v8.DefaultDeserializer(buf);
  d.readHeader();
  receive(name, d.readValue() as Batch);
  return buf.length;
}

const names = Object.keys(formats);
const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const bytes: Record<string, number> = {};
for (const n of names) for (let i = 0; i < 500; i++) bytes[n] = roundTrip(n); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const n of names) {
    const t = process.cpuUsage();
    for (let i = 0; i < PER_ROUND; i++) roundTrip(n);
    const c = process.cpuUsage(t);
    cpu[n]!.push((c.user + c.system) / PER_ROUND);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(cpu[names[0]!]!);
console.log(
  `caps.load on the wire: a batch of ${REQUESTS} decisions (${CAPPED} capped candidates each, a request event and a cap record), ` +
    `build + serialise + deserialise, ${ROUNDS} alternating rounds of ${PER_ROUND}; load average ${(
      await import('node:os')
    )
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
);
console.log('');
console.log('| format | CPU us per batch (median) | bytes | vs before |');
console.log('| --- | ---: | ---: | ---: |');
for (const n of names) {
  const m = median(cpu[n]!);
  console.log(`| ${n} | ${m.toFixed(1)} | ${bytes[n]} | ${(m / base).toFixed(2)}x |`);
}
