/**
 * The `request` events of decisions into the file event log, CPU time per decision (process CPU, so the libuv
 * threads' writes and fdatasyncs count too), interleaved rounds; each round serves `perTurn` decisions per
 * event-loop turn (setImmediate between turns), the way a busy server handles a burst of requests:
 *
 *   baseline: one append per decision (encodeEvents of its events, then log.append), as before 2026-11-27 19:40;
 *   per turn: RequestEventBatcher with flushAfterMs 0: the turn's events in one append (as before 2026-11-27 22:00);
 *   50 ms:    RequestEventBatcher as the app runs it (apps/server/src/tracking/tracking.ts): one append per 50 ms.
 *
 * Each round waits for its appends to be durable. With gapMs > 0 the turns are paced (a timer of gapMs between
 * them), like a server at a steady rate, where the log's group commits no longer merge by themselves.
 *
 *   node --import tsx bench/request-events.ts [rounds=9] [decisions=20000] [perTurn=8] [gapMs=0]
 *   node --import tsx bench/request-events.ts 5 4000 1 1      # one decision per ~1 ms, as at 1,000 req/s
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecisionRecord } from '../apps/server/src/serving/decision-service.ts';
import { pushRequestEvents, RequestEventBatcher } from '../apps/server/src/tracking/tracking.ts';
import { encodeEvents, FileEventLog, type TrackingEvent } from '../packages/events/src/index.ts';
import { loadAverage, median } from './cpu-rounds.ts';

const ROUNDS = Number(process.argv[2] ?? 9);
const N = Number(process.argv[3] ?? 20_000);
const PER_TURN = Number(process.argv[4] ?? 8);
const GAP_MS = Number(process.argv[5] ?? 0);

const dir = mkdtempSync(join(tmpdir(), 'marquee-bench-request-events-'));
const log = await FileEventLog.open({ dir });

const record = (i: number): DecisionRecord => ({
  nowMs: Date.now(),
  userKey: `user-${i % 1000}`,
  country: 'GB',
  device: 'desktop',
  placements: [
    {
      placementId: 'plc_0123456789abcdef0123456',
      siteId: 'site_0123456789abcdef012345',
      publisherId: 'pub_0123456789abcdef0123456',
      ads: [
        {
          decisionId: '7b0c5f8e-1d2a-4c3b-9e8f-0a1b2c3d4e5f',
          lineItemId: 'li_0123456789abcdef01234567',
          creativeId: 'cr_0123456789abcdef01234567',
          advertiserId: 'adv_0123456789abcdef0123456',
          campaignId: 'cmp_0123456789abcdef0123456',
        } as DecisionRecord['placements'][number]['ads'][number],
      ],
    },
  ],
});

const turn = () => new Promise<void>((r) => setImmediate(r));
const gap = () => (GAP_MS > 0 ? new Promise<void>((r) => setTimeout(r, GAP_MS)) : turn());

async function run(onDecision: (r: DecisionRecord) => void, settle: () => Promise<unknown>): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    onDecision(record(i));
    if ((i + 1) % PER_TURN === 0) await gap();
  }
  await turn();
  await settle();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / N;
}

let pending: Promise<unknown>[] = [];
const baseline = (r: DecisionRecord) => {
  const events: TrackingEvent[] = [];
  pushRequestEvents(r, events);
  pending.push(log.append(encodeEvents(events)).then(() => undefined));
};
const settleBaseline = async () => {
  await Promise.all(pending);
  pending = [];
};
const perTurn = new RequestEventBatcher(log, { stored: () => {}, lost: () => {} }, { flushAfterMs: 0 });
const windowed = new RequestEventBatcher(log, { stored: () => {}, lost: () => {} });
const marker: TrackingEvent[] = [];
pushRequestEvents(record(0), marker);
const settleBatched = (b: RequestEventBatcher) => async () => {
  await turn();
  b.flush();
  // Every append of the round is durable once one made after them is (groups commit in order).
  await log.append(encodeEvents(marker));
};

const cases: [string, (r: DecisionRecord) => void, () => Promise<unknown>][] = [
  ['no request events (the loop and its pacing alone)', () => {}, async () => {}],
  ['baseline: one append per decision', baseline, settleBaseline],
  ['per turn (flushAfterMs 0)', (r) => perTurn.add(r), settleBatched(perTurn)],
  ['50 ms window (the default)', (r) => windowed.add(r), settleBatched(windowed)],
];
const times: Record<string, number[]> = {};
for (const [name, add, settle] of cases) {
  times[name] = [];
  await run(add, settle);
}
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, add, settle] of cases) times[name]!.push(await run(add, settle));
}
console.log(
  `${N} decisions, ${PER_TURN} per turn, ${GAP_MS ? `${GAP_MS} ms between turns` : 'turns back to back'}, ${ROUNDS} rounds; load average ${loadAverage()}`,
);
for (const [name, xs] of Object.entries(times)) {
  console.log(`${name}: CPU µs/decision median ${median(xs).toFixed(2)}, min ${Math.min(...xs).toFixed(2)}`);
}
await log.close();
rmSync(dir, { recursive: true, force: true });
