/**
 * The pacing simulator: a day of traffic with a daily curve, in accelerated (simulated) time, through
 * the real decision code (buildServingSnapshot + decide), the real leased budget gate, pacing
 * controller and lease store, with impressions billed as tracking would bill them: some seconds
 * after the decision, a few never. Deterministic: every random draw comes from a seeded generator.
 *
 *   npm run simulate                 human-readable figures
 *   npm run simulate -- --json       one JSON object
 *   npm run simulate -- --redis      the four-worker scenario on Redis (MARQUEE_TEST_REDIS_URL)
 *   npm run simulate -- --seed 7
 *
 * Scenario A: one even-paced line item (daily budget) competing with others on three placements:
 *   delivered spend / daily budget, and the RMS error of hourly spend against the hourly plan.
 * Scenario B: the same, served by four workers sharing the budget through leases; one is killed at
 *   noon (its unsettled lease and unreported spend are lost; its lease expires; the rollups
 *   reconcile the spend from the event log every five minutes): overspend against the bound.
 *
 * What is NOT the production path: tracking is emulated (a billed impression calls the worker's
 * onSpend and appends to an in-memory event log, instead of signed URLs through TrackingService),
 * and the ledger posts hourly usage summed here from that log rather than from SQL rollups (the same
 * posting code, @marquee/billing, in its in-memory ledger; the SQL path is tested in the billing tests).
 */
import { randomUUID } from 'node:crypto';
import { ledgerCheck, type UsageTotals } from '@marquee/billing';
import { type LineItem, mulDiv } from '@marquee/core';
import { buildServingSnapshot, type DecisionRequest, decide, mulberry32, type Rng } from '@marquee/decision';
import {
  type BudgetLeaseStore,
  BudgetPacing,
  DayPlan,
  dayProfile,
  expectedServeCostMicros,
  InMemoryBudgetLeaseStore,
  LeasedBudgetGate,
  RedisBudgetLeaseStore,
  TrafficCurves,
} from '@marquee/pacing';
import * as f from '../packages/decision/src/fixtures.ts';

const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const USE_REDIS = args.includes('--redis');
const SEED = Number(args[args.indexOf('--seed') + 1] ?? 0) || 42;

const ZONE = 'America/New_York';
/** A Wednesday in the future (Redis day keys expire by Redis's own clock). */
const DAY_START = dayProfile(ZONE, Date.UTC(new Date().getUTCFullYear() + 2, 5, 10, 16)).startMs;
const SEC = 1000;
const DAILY_BUDGET = 400_000_000; // 400.00 a day
const TARGET_CPM = 5_000_000;
const PLACEMENTS = ['plc_news', 'plc_sport', 'plc_weather'] as const;
/** Mean requests per second over the day, per placement. */
const MEAN_RPS = [4, 2.5, 1.5];
const IMPRESSION_RATE = 0.97; // share of served ads whose impression fires
const RECONCILE_EVERY_MS = 5 * 60 * SEC;
const REFILL_MS = SEC;
const CONTROL_MS = 60 * SEC;
const LEASE_TTL_MS = 30 * SEC;
const HOLD_MS = 120 * SEC;
const MAX_LEASE_SHARE = 0.01;

/** The shape of a day's traffic by local hour: quiet at night, a morning ramp, lunch and evening peaks. */
function hourlyShape(placement: number, hour: number): number {
  const base = [
    0.25, 0.18, 0.13, 0.1, 0.1, 0.14, 0.3, 0.55, 0.8, 0.9, 0.95, 1.0, 1.1, 1.05, 0.95, 0.9, 0.92, 1.0, 1.1, 1.25, 1.35,
    1.2, 0.85, 0.5,
  ][hour]!;
  // Placements differ: sport peaks in the evening, weather in the morning.
  if (placement === 1) return base * (hour >= 18 ? 1.4 : 0.85);
  if (placement === 2) return base * (hour >= 6 && hour <= 9 ? 1.8 : 0.9);
  return base;
}

function poisson(rng: Rng, mean: number): number {
  // Knuth's method: fine for the small means of one simulated second.
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rng();
  } while (p > l);
  return k - 1;
}

/** Requests of one simulated second per placement (the local hour's rate). */
function requestsAt(rng: Rng, tMs: number, profile: ReturnType<typeof dayProfile>): number[] {
  const slot = Math.min(profile.slotHours.length - 1, Math.floor((tMs - profile.startMs) / (15 * 60 * SEC)));
  const hour = profile.slotHours[slot]!;
  const norm = 24 / [...Array(24).keys()].reduce((a, h) => a + hourlyShape(0, h), 0);
  return PLACEMENTS.map((_, p) => poisson(rng, MEAN_RPS[p]! * hourlyShape(p, hour) * norm));
}

function world() {
  const li = (id: string, adv: string, o: Partial<LineItem>) =>
    f.lineItem(id, adv, `cmp_${adv}`, [`cr_${adv}`], { timeZone: ZONE, startAt: '2020-01-01T00:00:00.000Z', ...o });
  const advertisers = ['target', 'rival_high', 'rival_low', 'house'];
  return buildServingSnapshot(
    f.storeSnapshot({
      advertisers: advertisers.map((a) => f.advertiser(`adv_${a}`)),
      campaigns: advertisers.map((a) => f.campaign(`cmp_adv_${a}`, `adv_${a}`)),
      creatives: advertisers.map((a) => f.creative(`cr_adv_${a}`, `adv_${a}`)),
      lineItems: [
        // The line item under test: even pacing of a daily budget.
        li('li_target', 'adv_target', { rateMicros: TARGET_CPM, dailyBudgetMicros: DAILY_BUDGET, pacing: 'even' }),
        // A higher bidder on news only, as fast as possible until its own budget is gone (mid-morning).
        li('li_rival_high', 'adv_rival_high', {
          rateMicros: 8_000_000,
          dailyBudgetMicros: 60_000_000,
          pacing: 'asap',
          targeting: { dimension: 'placement', values: ['plc_news'] },
        }),
        // A lower bidder everywhere, no budget: takes what the target leaves.
        li('li_rival_low', 'adv_rival_low', { rateMicros: 3_000_000 }),
        li('li_house', 'adv_house', { priority: 'house', rateMicros: 0 }),
      ],
      publishers: [f.publisher('pub_1')],
      sites: [f.site('site_1', 'pub_1')],
      placements: PLACEMENTS.map((id) => f.placement(id, 'site_1', 'pub_1', { floorMicros: 1_000_000 })),
    }),
  );
}

interface Billed {
  readonly lineItemId: string;
  readonly micros: number;
}

interface Outcome {
  readonly deliveredMicros: number;
  readonly hourly: number[];
  readonly planHourly: number[];
  readonly statuses: Record<string, number>;
  readonly finalRate: number;
  readonly maxOutstandingMicros: number;
  readonly killedLeaseMicros: number;
  readonly maxLeaseMicros: number;
  readonly decisions: number;
  /** Billed spend by UTC hour and advertiser, with the publisher's share: what the rollups would hold. */
  readonly usage: UsageTotals[];
}

async function run(workersN: number, killAtMs: number | null, store: BudgetLeaseStore): Promise<Outcome> {
  const snapshot = world();
  const rng = mulberry32(SEED);
  const traffic = mulberry32(SEED * 7 + 1);
  const profile = dayProfile(ZONE, DAY_START);
  // The curve learned from the log: yesterday's requests per placement and local hour (another seed).
  const curves = new TrafficCurves();
  {
    const yesterday = mulberry32(SEED * 13 + 5);
    const counts = PLACEMENTS.map(() => new Array<number>(24).fill(0));
    for (let t = profile.startMs; t < profile.endMs; t += SEC) {
      const hour = profile.slotHours[Math.floor((t - profile.startMs) / (15 * 60 * SEC))]!;
      requestsAt(yesterday, t, profile).forEach((n, p) => {
        counts[p]![hour]! += n;
      });
    }
    PLACEMENTS.forEach((id, p) => curves.observe(id, counts[p]!));
  }
  const curve = curves.curve([...PLACEMENTS]);
  const workers = Array.from({ length: workersN }, () => {
    const pacing = new BudgetPacing({
      store,
      snapshot: () => snapshot,
      curve: () => curve,
      leaseTtlMs: LEASE_TTL_MS,
      maxLeaseShare: MAX_LEASE_SHARE,
    });
    return { pacing, gate: new LeasedBudgetGate(snapshot, pacing), alive: true };
  });

  const events = new Map<number, Billed[]>(); // by the second the impression arrives
  const log: Billed[] = []; // the event log (what rollups read)
  // Ledger: billed events summed per UTC hour and advertiser as the rollups do, the publisher's share
  // rounded down per event (one publisher here).
  const usage = new Map<string, UsageTotals>();
  const shareBps = f.publisher('pub_1').revenueShareBps;
  const hourly = new Array<number>(24).fill(0);
  const statuses: Record<string, number> = {};
  let delivered = 0;
  let decisions = 0;
  let maxOutstanding = 0;
  let killedLease = 0;
  const live = () => workers.filter((w) => w.alive);
  const day = profile.day;
  const endMs = profile.endMs + 10 * 60 * SEC; // late impressions of the day's last serves

  for (let t = profile.startMs; t < endMs; t += SEC) {
    const alive = live();
    if (killAtMs !== null && t === killAtMs) {
      // SIGKILL: no settle, its unreported spend and its leases are simply gone.
      const victim = alive[1]!;
      killedLease = victim.pacing.outstandingLeaseMicros();
      victim.alive = false;
    }
    // Billable events of this second reach tracking on any live worker.
    for (const ev of events.get(t) ?? []) {
      const ws = live();
      ws[Math.floor(rng() * ws.length)]!.pacing.onSpend(ev.lineItemId, day, ev.micros);
      log.push(ev);
      {
        const hourMs = Math.floor(t / 3_600_000) * 3_600_000;
        const advertiserId = snapshot.lineItemById.get(ev.lineItemId)!.advertiserId;
        const key = `${hourMs}|${advertiserId}`;
        const u = usage.get(key);
        usage.set(key, {
          hourMs,
          advertiserId,
          publisherId: 'pub_1',
          currency: 'USD',
          spendMicros: (u?.spendMicros ?? 0) + ev.micros,
          revenueMicros: (u?.revenueMicros ?? 0) + mulDiv(ev.micros, shareBps, 10_000),
        });
      }
      if (ev.lineItemId === 'li_target') {
        delivered += ev.micros;
        const hour = Math.min(23, Math.floor((t - profile.startMs) / 3_600_000));
        hourly[hour]! += ev.micros;
      }
    }
    events.delete(t);
    if (t < profile.endMs) {
      const counts = requestsAt(traffic, t, profile);
      for (let p = 0; p < PLACEMENTS.length; p++) {
        for (let i = 0; i < counts[p]!; i++) {
          const ws = live();
          const w = ws[Math.floor(rng() * ws.length)]!;
          const nowMs = t + Math.floor(rng() * SEC);
          const request: DecisionRequest = { placements: [{ placementId: PLACEMENTS[p]! }] };
          const d = decide(request, snapshot, nowMs, rng, { pacing: w.gate });
          decisions++;
          const pd = d.placements[0]!;
          if (pd.kind !== 'filled') continue;
          for (const ad of pd.ads) {
            const cost = expectedServeCostMicros(ad);
            w.pacing.onServed(ad.lineItemId, cost);
            if (cost === 0 || rng() >= IMPRESSION_RATE) continue;
            // The impression arrives 0.3 to ~8 s later (page load, render), to the second.
            const delay = 300 + Math.floor(-Math.log(1 - rng()) * 1500);
            const at = Math.ceil((nowMs + delay) / SEC) * SEC;
            let list = events.get(at);
            if (!list) {
              list = [];
              events.set(at, list);
            }
            list.push({ lineItemId: ad.lineItemId, micros: cost });
          }
        }
      }
    }
    const off = t - profile.startMs;
    if (off % REFILL_MS === 0) for (const w of live()) await w.pacing.refill(t);
    if (off % CONTROL_MS === 0 && t < profile.endMs) {
      for (const w of live()) await w.pacing.control(t);
      const v = live()[0]!.pacing.controller.view('li_target');
      if (v) statuses[v.status] = (statuses[v.status] ?? 0) + 1;
    }
    if (off % RECONCILE_EVERY_MS === 0) {
      // The rollups reconcile actual spend from the event log.
      const byLi = new Map<string, number>();
      for (const e of log) byLi.set(e.lineItemId, (byLi.get(e.lineItemId) ?? 0) + e.micros);
      for (const [lineItemId, micros] of byLi) {
        await store.reconcile(
          { lineItemId, campaignId: snapshot.lineItemById.get(lineItemId)!.campaignId, day, dayMicros: micros },
          t,
        );
      }
    }
    let outstanding = 0;
    for (const w of live()) outstanding += w.pacing.outstandingLeaseMicros();
    maxOutstanding = Math.max(maxOutstanding, outstanding);
  }
  const plan = new DayPlan(profile, curve, 'even');
  const planHourly = hourly.map((_, h) =>
    Math.round(DAILY_BUDGET * plan.share(profile.startMs + h * 3_600_000, profile.startMs + (h + 1) * 3_600_000)),
  );
  return {
    deliveredMicros: delivered,
    hourly,
    planHourly,
    statuses,
    finalRate: workers[0]!.pacing.rate('li_target'),
    maxOutstandingMicros: maxOutstanding,
    killedLeaseMicros: killedLease,
    maxLeaseMicros: Math.ceil(MAX_LEASE_SHARE * DAILY_BUDGET),
    decisions,
    usage: [...usage.values()],
  };
}

function rmse(a: readonly number[], b: readonly number[]): number {
  return Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0) / a.length);
}

async function main(): Promise<void> {
  const started = performance.now();
  const a = await run(1, null, new InMemoryBudgetLeaseStore({ leaseTtlMs: LEASE_TTL_MS, holdMs: HOLD_MS }));
  const meanPlan = a.planHourly.reduce((s, x) => s + x, 0) / 24;
  const redisUrl = process.env.MARQUEE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `mqsim:${randomUUID()}:`;
  const storeB = USE_REDIS
    ? new RedisBudgetLeaseStore({ url: redisUrl, keyPrefix: prefix, leaseTtlMs: LEASE_TTL_MS, holdMs: HOLD_MS })
    : new InMemoryBudgetLeaseStore({ leaseTtlMs: LEASE_TTL_MS, holdMs: HOLD_MS });
  const WORKERS = 4;
  const b = await run(WORKERS, DAY_START + 12 * 3_600_000, storeB);
  if (USE_REDIS) {
    const { Redis } = await import('ioredis');
    const admin = new Redis(redisUrl);
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  }
  await storeB.close();
  const overspend = Math.max(0, b.deliveredMicros - DAILY_BUDGET);
  // Post each day's usage into a ledger (twice: the second run must post nothing) and check the books.
  const ledgerA = ledgerCheck(a.usage);
  const ledgerB = ledgerCheck(b.usage);
  // The stated bound (docs/concepts/pacing.md): the leases outstanding, at most one per worker and
  // line item, each at most maxLeaseShare of the budget.
  const bound = WORKERS * b.maxLeaseMicros;
  const figures = {
    seed: SEED,
    deliveredRatio: a.deliveredMicros / DAILY_BUDGET,
    hourlyRmseRatio: rmse(a.hourly, a.planHourly) / meanPlan,
    overspendMicros: overspend,
    overspendBoundMicros: bound,
    ledgerBalanced: ledgerA.balanced && ledgerB.balanced,
    ledger: { scenarioA: ledgerA, scenarioB: ledgerB },
    scenarioA: {
      dailyBudgetMicros: DAILY_BUDGET,
      deliveredMicros: a.deliveredMicros,
      decisions: a.decisions,
      hourlySpendMicros: a.hourly,
      hourlyPlanMicros: a.planHourly,
      statusMinutes: a.statuses,
      finalRate: a.finalRate,
    },
    scenarioB: {
      store: USE_REDIS ? 'redis' : 'in-memory',
      workers: WORKERS,
      killedAtLocalHour: 12,
      deliveredMicros: b.deliveredMicros,
      deliveredRatio: b.deliveredMicros / DAILY_BUDGET,
      killedWorkerLeaseMicros: b.killedLeaseMicros,
      maxOutstandingLeaseMicros: b.maxOutstandingMicros,
      maxLeaseMicros: b.maxLeaseMicros,
      withinBound: overspend <= bound,
    },
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
  if (JSON_OUT) {
    console.log(JSON.stringify(figures));
    return;
  }
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const money = (m: number) => (m / 1e6).toFixed(2);
  console.log(`Pacing simulator (seed ${SEED}, zone ${ZONE}, ${figures.seconds}s)`);
  console.log(
    `A  even pacing, 1 worker:  delivered ${money(a.deliveredMicros)} of ${money(DAILY_BUDGET)} (${pct(figures.deliveredRatio)}), hourly RMSE ${pct(figures.hourlyRmseRatio)} of the mean hourly plan`,
  );
  console.log('   hour  plan     spent');
  for (let h = 0; h < 24; h++)
    console.log(
      `   ${String(h).padStart(4)}  ${money(a.planHourly[h]!).padStart(7)}  ${money(a.hourly[h]!).padStart(7)}`,
    );
  console.log(`   status minutes: ${JSON.stringify(a.statuses)}`);
  console.log(
    `B  4 workers (${figures.scenarioB.store}), one killed at noon: delivered ${money(b.deliveredMicros)} (${pct(figures.scenarioB.deliveredRatio)}), overspend ${money(overspend)} vs bound ${money(bound)} (${figures.scenarioB.withinBound ? 'within' : 'EXCEEDED'}); killed worker held ${money(b.killedLeaseMicros)}`,
  );
  console.log(
    `C  ledger: ${ledgerA.entries + ledgerB.entries} hourly usage entries, charged ${money(ledgerA.chargedMicros + ledgerB.chargedMicros)} = billed ${money(ledgerA.spendMicros + ledgerB.spendMicros)}, re-posting added ${ledgerA.repostedEntries + ledgerB.repostedEntries}: ${figures.ledgerBalanced ? 'balanced to the micro' : 'NOT BALANCED'}`,
  );
}

await main();
