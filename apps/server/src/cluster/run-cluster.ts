/**
 * `npm start` as a cluster (MARQUEE_WORKERS > 1, or MARQUEE_CLUSTER=true): the primary's and the workers' entry points (main.ts calls them).
 *
 * Primary: the app of createApp (management API, dashboard, OpenAPI, rollups, billing, the store and, when
 * embedded, the shared state) on an internal loopback port, and the supervisor of the workers.
 * Worker: the serving and tracking routes on the public port (cluster shares it), the rest forwarded.
 * SIGTERM (or SIGINT): the workers drain first (their last appends reach the primary's log), then the
 * primary closes like the single process does (lifecycle/shutdown.ts).
 */
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Store } from '@marquee/store';
import type { FastifyBaseLogger } from 'fastify';
import { createApp } from '../app.ts';
import { CONFIG_DEFAULTS, type Config } from '../config.ts';
import type { AppDeps } from '../deps.ts';
import { createLifecycle, type Lifecycle } from '../lifecycle/lifecycle.ts';
import { installGracefulShutdown } from '../lifecycle/shutdown.ts';
import { PRIMARY_PORT_ENV, startWorkers, WORKER_SLOT_ENV } from './primary.ts';
import { createRpcChannel } from './rpc.ts';
import { createWorkerApp } from './worker-app.ts';

export async function runPrimary(deps: AppDeps & { store: Store }, lifecycle: Lifecycle, count: number) {
  const { config, store, logger } = deps;
  const timeoutMs = config.shutdownTimeoutMs ?? CONFIG_DEFAULTS.shutdownTimeoutMs;
  // Requests reach the primary through a worker: trust loopback for the client address, unless told more.
  const app = await createApp(deps, { lifecycle, trustProxy: config.trustProxy ? true : '127.0.0.1' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const primaryPort = (app.server.address() as AddressInfo).port;
  const supervisor = startWorkers({ app, config, store, logger, count, primaryPort });

  const shutdown = installGracefulShutdown({ app, store, lifecycle, logger, timeoutMs, signals: [] });
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return void shutdown(signal); // a second signal: shutdown() exits 1 now
      stopping = true;
      lifecycle.markStopping();
      logger.info({ signal }, 'stopping the serving workers');
      void supervisor.stop(timeoutMs).then(() => shutdown(signal));
    });
  }

  // The same line as the single process, once the first worker listens (the port answers from then on).
  let announced = false;
  cluster.on('listening', () => {
    if (announced) return;
    announced = true;
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    logger.info({ workers: count }, 'serving workers started');
    process.stdout.write(`Marquee is running at http://${host}:${config.port} — sign in as ${config.adminEmail}\n`);
  });
}

export async function runWorker(config: Config, logger: FastifyBaseLogger): Promise<void> {
  const lifecycle = createLifecycle();
  const rpc = createRpcChannel(process);
  const app = await createWorkerApp({
    config,
    logger,
    rpc,
    lifecycle,
    primaryPort: Number(process.env[PRIMARY_PORT_ENV]),
    slot: Number(process.env[WORKER_SLOT_ENV]),
  });
  let closing: Promise<void> | undefined;
  const stop = (reason: string, code: number) => {
    if (closing) return closing;
    lifecycle.markStopping();
    logger.info({ reason }, 'worker draining');
    const timer = setTimeout(() => process.exit(1), config.shutdownTimeoutMs ?? CONFIG_DEFAULTS.shutdownTimeoutMs);
    timer.unref();
    // app.close: in-flight requests finish, their appends are acknowledged by the primary, leases settled.
    closing = app.close().then(
      () => process.exit(code),
      (err) => {
        logger.error({ err }, 'worker shutdown failed');
        process.exit(1);
      },
    );
    return closing;
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal, 0));
  // The primary is gone: nothing to log to; stop (the calls in flight already failed, unacknowledged).
  process.on('disconnect', () => void stop('primary gone', 1));
  // An answer sent as the primary goes away fails asynchronously here; 'disconnect' handles the rest.
  process.on('error', (err) => logger.warn({ err }, 'IPC with the primary failed'));
  await app.listen({ port: config.port, host: config.host });
}
