/**
 * The cluster primary: forks the serving workers (node:cluster; they share the public port), answers their
 * calls on the shared ports (shared-ports.ts), tells them when the change feed has news, restarts a worker
 * that dies (with backoff), and on shutdown drains the workers before the primary closes its own app (the
 * event log the workers append to stays open until the last of them has exited).
 */
import cluster, { type Worker } from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeEvent, type EncodedEvent } from '@marquee/events';
import type { LineItemPacing } from '@marquee/pacing';
import type { Store } from '@marquee/store';
import type { FastifyBaseLogger } from 'fastify';
import { billingOf, metricsOf, servingOf, trackingOf } from '../app.ts';
import { CONFIG_DEFAULTS, type Config } from '../config.ts';
import type { App } from '../deps.ts';
import type { MetricsJson } from '../http/metrics.ts';
import { createRpcChannel, type RpcChannel } from './rpc.ts';
import { sharedPortHandlers } from './shared-ports.ts';

/** Environment of a forked worker: the primary's management port and the worker's slot. */
export const PRIMARY_PORT_ENV = 'MARQUEE_PRIMARY_PORT';
export const WORKER_SLOT_ENV = 'MARQUEE_WORKER_SLOT';

export interface Supervisor {
  /** Live workers by slot (tests and diagnostics). */
  readonly workers: ReadonlyMap<number, Worker>;
  /** SIGTERM to every worker; resolves when all have exited (or after timeoutMs, having SIGKILLed the rest). */
  stop(timeoutMs: number): Promise<void>;
}

export interface SupervisorOptions {
  readonly app: App;
  readonly config: Config;
  readonly store: Store;
  readonly logger: FastifyBaseLogger;
  readonly count: number;
  /** The primary's internal (loopback) port the workers forward management requests to. */
  readonly primaryPort: number;
}

// A batch a worker appended starts like this when it is a request event: not a touch for attribution.
const REQUEST_PREFIX = Buffer.from('{"kind":"request"');
const VIEW_POLL_MS = 5_000;

export function startWorkers(options: SupervisorOptions): Supervisor {
  const { app, config, store, logger } = options;
  const serving = servingOf(app);
  const tracking = trackingOf(app);
  const billing = billingOf(app);
  const embeddedLog = (config.eventLog ?? CONFIG_DEFAULTS.eventLog) === 'file';
  // Shared through the primary unless a shared service (Redis, NATS) lets each worker use it directly.
  const handlers = sharedPortHandlers({
    feed: store.feed,
    assets: store.assets,
    rollups: store.rollups,
    stoppedAdvertisers: () => [...billing.gate.current()],
    ...(embeddedLog
      ? {
          log: tracking.log,
          // Conversions are attributed here: the index learns the impressions and clicks workers logged.
          onAppended: (events: readonly EncodedEvent[]) => {
            for (const { data } of events) {
              if (Buffer.from(data.buffer, data.byteOffset, REQUEST_PREFIX.length).equals(REQUEST_PREFIX)) continue;
              try {
                const e = decodeEvent(data);
                if (e.verdict === 'valid' && (e.kind === 'impression' || e.kind === 'click'))
                  tracking.attribution.record(e);
              } catch {
                // not a tracking event: nothing to attribute
              }
            }
          },
        }
      : {}),
    ...(config.redisUrl ? {} : { dedup: tracking.dedup, caps: serving.caps, leases: serving.leases }),
  });

  const workers = new Map<number, Worker>();
  const channels = new Map<number, RpcChannel>();
  let stopping = false;
  const recentDeaths: number[] = [];

  cluster.setupPrimary({ serialization: 'advanced' });
  const fork = (slot: number) => {
    const worker = cluster.fork({ [PRIMARY_PORT_ENV]: String(options.primaryPort), [WORKER_SLOT_ENV]: String(slot) });
    const rpc = createRpcChannel(worker);
    rpc.serve(handlers);
    workers.set(slot, worker);
    channels.set(slot, rpc);
    // A send that races the worker's exit fails asynchronously as an 'error' on the worker: without a
    // listener it would be an uncaught exception in the primary.
    worker.on('error', (err) => logger.warn({ slot, err }, 'IPC with a serving worker failed'));
    worker.on('exit', (code, signal) => {
      channels.delete(slot);
      workers.delete(slot);
      rpc.close();
      if (stopping) return;
      // Its leases expire and return to the pool; what its serves cost arrives as events (docs/operations.md).
      const now = Date.now();
      recentDeaths.push(now);
      while (recentDeaths.length > 0 && recentDeaths[0]! < now - 60_000) recentDeaths.shift();
      const delayMs = Math.min(30_000, 100 * 2 ** Math.min(8, recentDeaths.length - 1));
      logger.error({ slot, code, signal, restartInMs: delayMs }, 'serving worker died; restarting it');
      setTimeout(() => {
        if (!stopping) fork(slot);
      }, delayMs).unref();
    });
  };
  for (let slot = 1; slot <= options.count; slot++) fork(slot);

  // One follower of the store's feed for all workers: a push makes them read now rather than at their poll.
  const stopFollowing = store.feed.follow(serving.state.current.seq, () => {
    for (const rpc of channels.values()) rpc.push('feed', null);
  });

  // GET /metrics (served here) adds up the workers' registries: they count the serving and tracking requests.
  // A worker that does not answer within 2 s is left out of that scrape rather than holding it.
  metricsOf(options.app).others = async () => {
    const all = await Promise.all(
      [...channels.values()].map((rpc) =>
        Promise.race([rpc.call<MetricsJson>('metrics.json'), sleep(2_000, undefined, { ref: false })]).catch(
          () => undefined,
        ),
      ),
    );
    return all.filter((m): m is MetricsJson => m !== undefined);
  };

  // The delivery report's pacing view (on track / behind / ahead) comes from the workers' controllers: the
  // primary serves nothing, so its own has no line items. Polled every few seconds, one view per line item.
  let workerViews = new Map<string, LineItemPacing>();
  serving.budgets.showViewsFrom((id) => workerViews.get(id));
  const pollViews = setInterval(async () => {
    const next = new Map<string, LineItemPacing>();
    for (const rpc of channels.values()) {
      const views = await rpc.call<LineItemPacing[]>('pacing.views').catch(() => [] as LineItemPacing[]);
      for (const v of views) if (!next.has(v.lineItemId)) next.set(v.lineItemId, v);
    }
    workerViews = next;
  }, VIEW_POLL_MS);
  pollViews.unref();

  return {
    workers,
    async stop(timeoutMs) {
      stopping = true;
      clearInterval(pollViews);
      await stopFollowing();
      const exits = [...workers.values()].map(
        (w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))),
      );
      for (const w of workers.values()) w.process.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const w of workers.values()) w.process.kill('SIGKILL');
      }, timeoutMs);
      await Promise.all(exits);
      clearTimeout(timer);
    },
  };
}
