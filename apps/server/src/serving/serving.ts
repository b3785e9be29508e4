/**
 * Composition of the serving side: snapshot state, enrichment, counters, signer, decision service, routes.
 * Called by createApp; everything it opens is closed with the app.
 */
import { randomInt } from 'node:crypto';
import type { BillingGate } from '@marquee/billing';
import { type FrequencyCapStore, InMemoryFrequencyCapStore, RedisFrequencyCapStore } from '@marquee/counters';
import { FixedPriorPredictor, type InMemorySpendCounters, mulberry32, type ServingSnapshot } from '@marquee/decision';
import { createRequestEnricher, createUserAgentParser, MmdbGeoLocator } from '@marquee/enrich';
import {
  type BudgetLeaseStore,
  type BudgetPacing,
  InMemoryBudgetLeaseStore,
  RedisBudgetLeaseStore,
} from '@marquee/pacing';
import { UrlSigner } from '@marquee/tracking';
import { withBillingStop } from '../billing/billing-stop-gate.ts';
import { CONFIG_DEFAULTS } from '../config.ts';
import type { App, AppDeps } from '../deps.ts';
import type { FastPathHttp } from '../http/fast-path.ts';
import { PacingRuntime } from '../pacing/pacing-runtime.ts';
import { DecisionRouteHolder, installDecisionFastPath } from './decision-fast-path.ts';
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
  /** Budgets, goals, pacing and their feeds from the rollups (apps/server/src/pacing). */
  readonly budgets: PacingRuntime;
  /** The lease store the pacing reserves from (a cluster primary shares it with its workers). */
  readonly leases: BudgetLeaseStore;
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
  /**
   * With it, `POST /v1/decisions` is also served by the lean path in front of Fastify (decision-fast-path.ts),
   * which needs the headers every answer of the app carries and the app's request metrics.
   */
  readonly http?: FastPathHttp;
}

export async function registerServing(app: App, deps: AppDeps, options: ServingOptions = {}): Promise<Serving> {
  const { config, store, logger } = deps;
  const now = options.now ?? Date.now;
  // What CPC / CPA line items are ranked with (the snapshot's predictor, decide's default) and what a serve is expected to cost.
  const predictor = new FixedPriorPredictor();
  const state = await createServingState({
    feed: store.feed,
    assets: store.assets,
    publicUrl: config.publicUrl,
    logger,
    now,
    predictor,
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
  const budgets = new PacingRuntime({
    leases,
    rollups: store.rollups,
    snapshot: () => state.current,
    now,
    predictor,
    deps,
    onError: (err, what) => logger.warn({ err }, what),
  });
  const { pacing, spend } = budgets;
  // BILLING HOOK (billing/billing-stop-gate.ts): stopped advertisers are refused before the budget gate.
  const leasedGate = (snapshot: ServingSnapshot) =>
    withBillingStop(snapshot, budgets.gate(snapshot), options.billingGate);
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
          if (sli) budgets.onServed(sli, snapshot.placements.get(p.placementId));
        }
      }
      options.onDecision?.(record);
    },
  });
  const decisionRoute = new DecisionRouteHolder();
  await app.register(servingRoutes({ service, state, publicUrl: config.publicUrl, decisionRoute }));
  if (options.http) installDecisionFastPath(app, service, options.http, decisionRoute);
  app.addHook('onReady', async () => {
    // Tracking has replayed today's spend from its log by now: reconcile the leases with it, then go live.
    await budgets.start();
  });
  app.addHook('onClose', async () => {
    await state.stop();
    await budgets.close();
    if (!options.caps) await caps.close();
    if (!options.leases) await leases.close();
  });
  return { state, service, signer, caps, spend, pacing, budgets, leases };
}
