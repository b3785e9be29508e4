/**
 * Composition of the tracking side: the event log (opened from config), the deduplicator (Redis when
 * redisUrl is set, else in memory), the attribution index, the tracking service and its routes; the
 * memories are rebuilt from the tail of the log before the routes answer. Called by createApp.
 */
import { randomUUID } from 'node:crypto';
import { type EventLog, encodeEvents, type TrackingEvent } from '@marquee/events';
import type { FastifyBaseLogger } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { CONFIG_DEFAULTS, type Config } from '../config.ts';
import type { App, AppDeps } from '../deps.ts';
import { type FastPathHttp, fastifyClosing, installFastPath } from '../http/fast-path.ts';
import type { DecisionRecord } from '../serving/decision-service.ts';
import type { Serving } from '../serving/serving.ts';
import { AttributionIndex } from './attribution-index.ts';
import { batchRoutes } from './batch-routes.ts';
import type { Deduplicator } from './deduplicator.ts';
import { InMemoryDeduplicator } from './in-memory-deduplicator.ts';
import { openEventLog } from './open-event-log.ts';
import { createPixelFastPath } from './pixel-fast-path.ts';
import { postbackSecretRoutes } from './postback-secret-routes.ts';
import { RedisDeduplicator } from './redis-deduplicator.ts';
import { replayTail } from './replay-tail.ts';
import { postbackRoutes, trackingRoutes } from './tracking-routes.ts';
import { TrackingService } from './tracking-service.ts';

export interface TrackingOptions {
  readonly now?: () => number;
  readonly registry?: Registry;
  /** An already open log (tests, tools); default: opened from config and closed with the app. */
  readonly eventLog?: EventLog;
  readonly deduplicator?: Deduplicator;
}

export interface Tracking {
  readonly log: EventLog;
  readonly dedup: Deduplicator;
  readonly attribution: AttributionIndex;
  /** Set once the routes are registered (after the serving side exists). */
  service: TrackingService | undefined;
  /** The decision service's hook: one `request` event per requested placement, fire-and-forget. */
  readonly onDecision: (record: DecisionRecord) => void;
  /**
   * Registers the routes and rebuilds the memories from the log. With `http`, the pixel GETs are also served
   * by the lean path in front of Fastify (pixel-fast-path.ts), which needs the headers every answer of the app
   * carries and the app's request metrics.
   */
  register(app: App, serving: Serving, http?: FastPathHttp): Promise<void>;
}

const DAY_MS = 24 * 3600 * 1000;

export type { FastPathHttp } from '../http/fast-path.ts';

export async function createTracking(deps: AppDeps, options: TrackingOptions = {}): Promise<Tracking> {
  const { config, logger } = deps;
  const now = options.now ?? Date.now;
  const log = options.eventLog ?? (await openEventLog(config, { onError: (err, what) => logger.warn({ err }, what) }));
  const dedup =
    options.deduplicator ??
    (config.redisUrl ? new RedisDeduplicator({ url: config.redisUrl }) : new InMemoryDeduplicator({ now }));
  const windows = {
    clickMs: (config.attributionClickWindowSeconds ?? CONFIG_DEFAULTS.attributionClickWindowSeconds) * 1000,
    viewMs: (config.attributionViewWindowSeconds ?? CONFIG_DEFAULTS.attributionViewWindowSeconds) * 1000,
  };
  const attribution = new AttributionIndex(windows);
  const metrics = createTrackingMetrics(options.registry);

  const requests = new RequestEventBatcher(log, {
    stored: (n) => metrics.events.inc({ kind: 'request', verdict: 'valid' }, n),
    lost: (n, err) => {
      metrics.requestAppendErrors.inc(n);
      logger.warn({ err }, 'request events not stored');
    },
  });
  // The tracking service appends through this view: the request events of the turn go first, so the log keeps
  // the order in which things happened (a decision's request event before a pixel of the same turn).
  const serviceLog: EventLog = {
    append: (events) => {
      requests.flush();
      return log.append(events);
    },
    read: (from, max) => log.read(from, max),
    end: () => log.end(),
    close: () => {
      requests.flush();
      return log.close();
    },
  };

  const tracking: Tracking = {
    log,
    dedup,
    attribution,
    service: undefined,
    onDecision: (record) => requests.add(record),
    async register(app, serving, http) {
      const ttlMs = (config.trackingTtlSeconds ?? CONFIG_DEFAULTS.trackingTtlSeconds) * 1000;
      const service = new TrackingService({
        log: serviceLog,
        signer: serving.signer,
        dedup,
        attribution,
        spend: serving.spend,
        snapshot: () => serving.state.current,
        now,
        maxClicksPerDecision: config.trackingMaxClicks ?? CONFIG_DEFAULTS.trackingMaxClicks,
        conversionDedupMs: Math.max(windows.clickMs, windows.viewMs, DAY_MS),
        onCommitted: (events) => {
          // One counter update per (kind, verdict) of the batch, not per event (a batch has up to 10,000); runs of
          // equal labels, the usual case, skip even the map lookup.
          const counts = new Map<string, { kind: string; verdict: string; n: number }>();
          let run: { kind: string; verdict: string; n: number } | undefined;
          for (const e of events) {
            const verdict = e.reason || e.verdict;
            if (run?.kind === e.kind && run.verdict === verdict) {
              run.n++;
              continue;
            }
            const key = `${e.kind}\u0000${verdict}`;
            run = counts.get(key);
            if (run) run.n++;
            else {
              run = { kind: e.kind, verdict, n: 1 };
              counts.set(key, run);
            }
          }
          for (const c of counts.values()) metrics.events.inc({ kind: c.kind, verdict: c.verdict }, c.n);
        },
      });
      tracking.service = service;
      await rebuild(config, logger, log, service, dedup, ttlMs, windows, now);
      const routeDeps = { service, snapshot: () => serving.state.current, now };
      await app.register(trackingRoutes(routeDeps));
      await app.register(postbackRoutes(routeDeps));
      await app.register(batchRoutes(service, now));
      await app.register(postbackSecretRoutes(deps));
      if (http) installPixelFastPath(app, service, http);
      app.addHook('onClose', async () => {
        // In-flight requests are done (Fastify closes the server first): nothing acknowledged is pending.
        await serviceLog.close();
        if (!options.deduplicator) await dedup.close();
      });
    },
  };
  return tracking;
}

/**
 * The pixel GETs answered before Fastify (pixel-fast-path.ts), unless Fastify's client address rules apply
 * (a trusted proxy) or its closing state cannot be read (then Fastify serves every hit, as before).
 */
function installPixelFastPath(app: App, service: TrackingService, http: FastPathHttp): void {
  if (http.trustProxy !== false) return;
  const closing = fastifyClosing(app);
  if (!closing) {
    app.log.warn('pixel fast path off: Fastify state not readable');
    return;
  }
  installFastPath(
    app.server,
    createPixelFastPath({
      service,
      answerHeaders: http.answerHeaders,
      metrics: http.metrics,
      logger: app.log,
      closing,
    }),
  );
}

/**
 * The memories are rebuilt from the log: dedup keys of the valid events still within the token TTL,
 * order ids within the conversion dedup window, attribution touches within the windows, and the spend of
 * the events read (today's spend in full, since the tail covers at least a day).
 */
async function rebuild(
  config: Config,
  logger: FastifyBaseLogger,
  log: EventLog,
  service: TrackingService,
  dedup: Deduplicator,
  ttlMs: number,
  windows: { clickMs: number; viewMs: number },
  now: () => number,
): Promise<void> {
  const nowMs = now();
  const horizon = Math.max(ttlMs, windows.clickMs, windows.viewMs, DAY_MS);
  const maxClicks = config.trackingMaxClicks ?? CONFIG_DEFAULTS.trackingMaxClicks;
  const conversionDedupMs = Math.max(windows.clickMs, windows.viewMs, DAY_MS);
  // With Redis, the dedup memory is shared and survives restarts by itself.
  const rebuildDedup = dedup instanceof InMemoryDeduplicator;
  try {
    const stats = await replayTail(log, nowMs - horizon, (events) => {
      if (rebuildDedup) {
        for (const e of events) {
          if (e.verdict !== 'valid') continue;
          const claim = dedupClaimOf(e, ttlMs, conversionDedupMs, maxClicks, nowMs);
          if (claim) dedup.claim(claim);
        }
      }
      service.applyEffects(events);
    });
    logger.info(
      { ...stats, dedupKeys: rebuildDedup ? (dedup as InMemoryDeduplicator).size : null },
      'tracking memory rebuilt from the event log',
    );
  } catch (err) {
    // The log cannot be read (NATS away at start): serve anyway; duplicates of older hits may then count once more.
    logger.error({ err }, 'tracking memory NOT rebuilt from the event log');
  }
}

function dedupClaimOf(e: TrackingEvent, ttlMs: number, conversionDedupMs: number, maxClicks: number, nowMs: number) {
  // The token expired at most one TTL after the event; after that a replay is refused as expired anyway.
  if (e.kind === 'conversion') {
    if (!e.orderId) return null;
    const expiresAtMs = e.tsMs + conversionDedupMs;
    return expiresAtMs > nowMs ? { key: `conv:${e.advertiserId}:${e.orderId}`, limit: 1, expiresAtMs } : null;
  }
  if (!e.decisionId) return null;
  const expiresAtMs = e.tsMs + ttlMs;
  if (expiresAtMs <= nowMs) return null;
  switch (e.kind) {
    case 'impression':
    case 'viewable':
      return { key: `${e.kind}:${e.decisionId}`, limit: 1, expiresAtMs };
    case 'click':
      return { key: `click:${e.decisionId}`, limit: maxClicks, expiresAtMs };
    case 'custom':
      return { key: `custom:${e.name ?? ''}:${e.decisionId}`, limit: 1, expiresAtMs };
    default:
      return null;
  }
}

/**
 * The decisions' `request` events, gathered for up to `flushAfterMs` (default 50 ms) and appended to the log as
 * ONE batch instead of one append per decision: one pending append, one promise and one result per batch. Each
 * stays an event of its own in the log. Not money: never delays a decision; a failed append is counted (and
 * logged), not retried. `flush()` appends what is pending now (before another append, and on close).
 *
 * Why a window and not the end of the turn: the embedded log starts a group commit as soon as one is pending,
 * so one append per turn under a steady load meant a write and an fdatasync per decision or two, on the
 * libuv pool (~220 µs of CPU per decision at 1,000/s, more than a bare server's whole answer; docs/performance.md,
 * "Request events: one append per 50 ms"). The cost of the window: a crash loses the request events of its
 * last 50 ms (fill-rate counts only; a decision was never acknowledged on its request event being durable), and
 * they reach the reports 50 ms later. Any money event appended meanwhile carries them first (the log view
 * flushes), so the log keeps its order.
 */
export class RequestEventBatcher {
  private pending: TrackingEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly flushAfterMs: number;
  private readonly maxPending: number;

  constructor(
    private readonly log: EventLog,
    private readonly report: { stored(n: number): void; lost(n: number, err: unknown): void },
    options: {
      /** How long request events may wait for the next ones (0: until the end of the turn). Default 50 ms. */
      readonly flushAfterMs?: number;
      /** Append at once when this many are pending. Default 4,096. */
      readonly maxPending?: number;
    } = {},
  ) {
    this.flushAfterMs = options.flushAfterMs ?? 50;
    this.maxPending = options.maxPending ?? 4096;
  }

  add(record: DecisionRecord): void {
    if (record.placements.length === 0) return;
    pushRequestEvents(record, this.pending);
    if (this.pending.length >= this.maxPending) {
      this.flush();
    } else if (this.timer === undefined && this.immediate === undefined) {
      if (this.flushAfterMs > 0) {
        this.timer = setTimeout(this.flushLater, this.flushAfterMs);
        this.timer.unref();
      } else {
        this.immediate = setImmediate(this.flushLater);
      }
    }
  }

  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.immediate !== undefined) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    const events = this.pending;
    if (events.length === 0) return;
    this.pending = [];
    const { report } = this;
    let appended: Promise<unknown>;
    try {
      appended = this.log.append(encodeEvents(events));
    } catch (err) {
      appended = Promise.reject(err);
    }
    appended.then(
      () => report.stored(events.length),
      (err) => report.lost(events.length, err),
    );
  }

  private readonly flushLater = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    this.flush();
  };
}

/** One `request` event per requested placement: filled ones carry the first ad's ids (fill rate, by line item). */
export function pushRequestEvents(r: DecisionRecord, out: TrackingEvent[]): void {
  for (const p of r.placements) {
    const ad = p.ads[0];
    out.push({
      kind: 'request',
      eventId: randomUUID(),
      decisionId: ad?.decisionId ?? '',
      lineItemId: ad?.lineItemId ?? '',
      creativeId: ad?.creativeId ?? '',
      advertiserId: ad?.advertiserId ?? '',
      campaignId: ad?.campaignId ?? '',
      publisherId: p.publisherId,
      siteId: p.siteId,
      placementId: p.placementId,
      tsMs: r.nowMs,
      priceMicros: 0,
      country: r.country,
      deviceType: r.device,
      userKey: r.userKey,
      verdict: 'valid',
      reason: '',
      source: 'decision',
    });
  }
}

function createTrackingMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    events: new Counter({
      name: 'marquee_tracking_events_total',
      help: 'Tracking events stored, by kind and verdict (the invalid reason, or "valid")',
      labelNames: ['kind', 'verdict'] as const,
      registers,
    }),
    requestAppendErrors: new Counter({
      name: 'marquee_tracking_request_events_lost_total',
      help: 'Request events (one per requested placement) the event log refused; not money, not retried',
      registers,
    }),
  };
}
