/**
 * Composition of the serving side: snapshot state, enrichment, counters, signer, decision service, routes.
 * Called by createApp; everything it opens is closed with the app.
 */
import { randomInt } from 'node:crypto';
import type { BillingGate } from '@marquee/billing';
import { type FrequencyCapStore, InMemoryFrequencyCapStore, RedisFrequencyCapStore } from '@marquee/counters';
import {
  BudgetPacingGate,
  FixedPriorPredictor,
  type InMemorySpendCounters,
  mulberry32,
  type RatePredictor,
  type ServingSnapshot,
} from '@marquee/decision';
import { createRequestEnricher, createUserAgentParser, MmdbGeoLocator } from '@marquee/enrich';
import {
  type BudgetLeaseStore,
  BudgetPacing,
  clickGoalScope,
  InMemoryBudgetLeaseStore,
  impressionGoalScope,
  LeasedBudgetGate,
  lineItemServeCostMicros,
  PacingSpendCounters,
  RedisBudgetLeaseStore,
} from '@marquee/pacing';
import { UrlSigner } from '@marquee/tracking';
import { withBillingStop } from '../billing/billing-stop-gate.ts';
import { CONFIG_DEFAULTS } from '../config.ts';
import type { App, AppDeps } from '../deps.ts';
import { PacingFeeds } from '../pacing/pacing-feeds.ts';
import { publishPacingViews } from '../pacing/pacing-views.ts';
import { TrafficCurveFeed } from '../pacing/traffic-curve-feed.ts';
import { DecisionService, type DecisionServiceDeps } from './decision-service.ts';
import { servingRoutes } from './serving-routes.ts';
import { createServingState, type ServingState } from './serving-state.ts';
import { loadTrackingKeys } from './tracking-keys.ts';

export interface Serving {
  readonly state: ServingState;
  readonly service: DecisionService;
  readonly signer: UrlSigner;
  readonly caps: FrequencyCapStore;
  /** Spend the budget gate reads; the tracking side adds billable events to it (fed on to the leases). */
  readonly spend: InMemorySpendCounters;
  /** Budget leases and pacing rates (docs/concepts/pacing.md). */
  readonly pacing: BudgetPacing;
  /** Impression and click goals, leased like budgets (in impressions, in micro-clicks). */
  readonly impressionGoals: BudgetPacing;
  readonly clickGoals: BudgetPacing;
  /** Traffic curves and the reconcile of the leases with the rollups (apps/server/src/pacing). */
  readonly pacingFeeds: PacingFeeds;
}

export interface ServingOptions {
  readonly now?: () => number;
  /** Frequency-cap counters; default: Redis when config.redisUrl is set, else in process. */
  readonly caps?: FrequencyCapStore;
  /** Called after every decision (the tracking side logs one `request` event per placement). */
  readonly onDecision?: DecisionServiceDeps['onDecision'];
  /** Budget lease store; default: Redis when config.redisUrl is set, else in process. */
  readonly leases?: BudgetLeaseStore;
  /** BILLING HOOK: advertisers whose prepaid funds and credit are exhausted get no delivery (docs/billing.md). */
  readonly billingGate?: BillingGate;
}

export async function registerServing(app: App, deps: AppDeps, options: ServingOptions = {}): Promise<Serving> {
  const { config, store, logger } = deps;
  const now = options.now ?? Date.now;
  const state = await createServingState({
    feed: store.feed,
    assets: store.assets,
    publicUrl: config.publicUrl,
    logger,
    now,
  });
  const geo = await MmdbGeoLocator.open(config.geoipDbPath);
  const enricher = createRequestEnricher({ geo, userAgents: createUserAgentParser() });
  const caps =
    options.caps ??
    (config.redisUrl ? new RedisFrequencyCapStore({ url: config.redisUrl }) : new InMemoryFrequencyCapStore());
  const signer = new UrlSigner(loadTrackingKeys(config.trackingKeys, config.dataDir));
  const leases =
    options.leases ??
    (config.redisUrl ? new RedisBudgetLeaseStore({ url: config.redisUrl }) : new InMemoryBudgetLeaseStore());
  const curves = new TrafficCurveFeed({ rollups: store.rollups });
  const pacing = new BudgetPacing({
    store: leases,
    snapshot: () => state.current,
    curve: (sli) => curves.curve(sli),
    onError: (err, what) => logger.warn({ err }, what),
  });
  const goal = (scope: typeof impressionGoalScope) =>
    new BudgetPacing({
      store: leases,
      snapshot: () => state.current,
      scope,
      onError: (err, what) => logger.warn({ err }, what),
    });
  const impressionGoals = goal(impressionGoalScope);
  const clickGoals = goal(clickGoalScope);
  const pacingFeeds = new PacingFeeds({
    rollups: store.rollups,
    leases,
    curves,
    snapshot: () => state.current,
    now,
    onError: (err, what) => logger.warn({ err }, what),
  });
  publishPacingViews(deps, (id) => pacing.controller.view(id));
  const spend = new PacingSpendCounters(pacing, impressionGoals);
  const predictor: RatePredictor = new FixedPriorPredictor(); // decide's default: what the expected cost of a serve is ranked with
  // BILLING HOOK (billing/billing-stop-gate.ts): stopped advertisers are refused before the budget gate.
  const leasedGate = (snapshot: ServingSnapshot) =>
    withBillingStop(
      snapshot,
      new LeasedBudgetGate(snapshot, pacing, new BudgetPacingGate(snapshot, spend), [impressionGoals, clickGoals]),
      options.billingGate,
    );
  // The gate reads the snapshot it is built with; rebuilding one per snapshot swap keeps it allocation-free per request.
  let gateFor = state.current;
  let gate = leasedGate(gateFor);
  const service = new DecisionService({
    snapshot: () => state.current,
    signer,
    enricher: { enrich: (ip, userAgent) => enricher.enrich({ ip, userAgent }) },
    caps,
    pacing: (snapshot) => {
      if (snapshot !== gateFor) {
        gateFor = snapshot;
        gate = leasedGate(snapshot);
      }
      return gate;
    },
    assetUrl: (assetId) => state.assetUrl(assetId),
    publicUrl: config.publicUrl,
    trackingTtlMs: (config.trackingTtlSeconds ?? CONFIG_DEFAULTS.trackingTtlSeconds) * 1000,
    now,
    rng: mulberry32(randomInt(2 ** 31)),
    onError: (err, what) => logger.warn({ err }, what),
    onDecision: (record) => {
      // Reserve-on-serve: each served ad's expected cost comes off this worker's lease now.
      const snapshot = state.current;
      for (const p of record.placements) {
        for (const ad of p.ads) {
          const sli = snapshot.lineItemById.get(ad.lineItemId);
          const placement = snapshot.placements.get(p.placementId);
          if (sli) {
            pacing.onServed(sli.id, lineItemServeCostMicros(sli, placement, predictor));
            impressionGoals.onServed(sli.id, 1); // at most one impression per served ad
            if (placement) clickGoals.onServed(sli.id, predictor.ctrPpm(sli, placement)); // expected micro-clicks
          }
        }
      }
      options.onDecision?.(record);
    },
  });
  await app.register(servingRoutes({ service, state, publicUrl: config.publicUrl }));
  app.addHook('onReady', async () => {
    // Tracking has replayed today's spend from its log by now: reconcile the leases with it, then go live.
    await spend.goLive(leases, state.current, now());
    // The rollups' spend and the learned curves before the first lease (in the background after).
    await pacingFeeds.runOnce();
    pacing.start(now);
    impressionGoals.start(now);
    clickGoals.start(now);
    pacingFeeds.start();
  });
  app.addHook('onClose', async () => {
    await state.stop();
    pacingFeeds.stop();
    await pacing.close(now()).catch((err) => logger.warn({ err }, 'budget leases not settled'));
    for (const g of [impressionGoals, clickGoals])
      await g.close(now()).catch((err) => logger.warn({ err }, 'goal leases not settled'));
    if (!options.caps) await caps.close();
    if (!options.leases) await leases.close();
  });
  return { state, service, signer, caps, spend, pacing, impressionGoals, clickGoals, pacingFeeds };
}
