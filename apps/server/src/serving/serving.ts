/**
 * Composition of the serving side: snapshot state, enrichment, counters, signer, decision service, routes.
 * Called by createApp; everything it opens is closed with the app.
 */
import { randomInt } from 'node:crypto';
import { type FrequencyCapStore, InMemoryFrequencyCapStore, RedisFrequencyCapStore } from '@marquee/counters';
import { BudgetPacingGate, InMemorySpendCounters, mulberry32 } from '@marquee/decision';
import { createRequestEnricher, createUserAgentParser, MmdbGeoLocator } from '@marquee/enrich';
import { UrlSigner } from '@marquee/tracking';
import { CONFIG_DEFAULTS } from '../config.ts';
import type { App, AppDeps } from '../deps.ts';
import { DecisionService, type DecisionServiceDeps } from './decision-service.ts';
import { servingRoutes } from './serving-routes.ts';
import { createServingState, type ServingState } from './serving-state.ts';
import { loadTrackingKeys } from './tracking-keys.ts';

export interface Serving {
  readonly state: ServingState;
  readonly service: DecisionService;
  readonly signer: UrlSigner;
  readonly caps: FrequencyCapStore;
  /** Spend the budget gate reads; the tracking side adds billable events to it. */
  readonly spend: InMemorySpendCounters;
}

export interface ServingOptions {
  readonly now?: () => number;
  /** Frequency-cap counters; default: Redis when config.redisUrl is set, else in process. */
  readonly caps?: FrequencyCapStore;
  /** Called after every decision (the tracking side logs one `request` event per placement). */
  readonly onDecision?: DecisionServiceDeps['onDecision'];
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
  const spend = new InMemorySpendCounters();
  // The gate reads the snapshot it is built with; rebuilding one per snapshot swap keeps it allocation-free per request.
  let gateFor = state.current;
  let gate = new BudgetPacingGate(gateFor, spend);
  const service = new DecisionService({
    snapshot: () => state.current,
    signer,
    enricher: { enrich: (ip, userAgent) => enricher.enrich({ ip, userAgent }) },
    caps,
    pacing: (snapshot) => {
      if (snapshot !== gateFor) {
        gateFor = snapshot;
        gate = new BudgetPacingGate(snapshot, spend);
      }
      return gate;
    },
    assetUrl: (assetId) => state.assetUrl(assetId),
    publicUrl: config.publicUrl,
    trackingTtlMs: (config.trackingTtlSeconds ?? CONFIG_DEFAULTS.trackingTtlSeconds) * 1000,
    now,
    rng: mulberry32(randomInt(2 ** 31)),
    onError: (err, what) => logger.warn({ err }, what),
    ...(options.onDecision ? { onDecision: options.onDecision } : {}),
  });
  await app.register(servingRoutes({ service, state, publicUrl: config.publicUrl }));
  app.addHook('onClose', async () => {
    await state.stop();
    if (!options.caps) await caps.close();
  });
  return { state, service, signer, caps, spend };
}
