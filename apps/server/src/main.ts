/**
 * The command `npm start` runs: load the configuration, open the store, on first start create the admin
 * (and the demo data), then serve until SIGTERM/SIGINT.
 */
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { createStore } from '@marquee/store';
import pino from 'pino';
import { createApp } from './app.ts';
import { createBlobStorage } from './assets/create-blob-storage.ts';
import { runPrimary, runWorker } from './cluster/run-cluster.ts';
import { CONFIG_DEFAULTS, type Config, ConfigError, loadConfig, servingTopology } from './config.ts';
import { createFirstAdmin } from './first-start.ts';
import { createLifecycle } from './lifecycle/lifecycle.ts';
import { installGracefulShutdown } from './lifecycle/shutdown.ts';
import { loadDemoData } from './seed/demo.ts';

function readConfig(): Config {
  try {
    return loadConfig(process.env, process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = pino({ level: config.logLevel, timestamp: pino.stdTimeFunctions.isoTime });
  const store = await createStore({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: config.dataDir }),
    pgliteThread: config.pgliteThread ?? CONFIG_DEFAULTS.pgliteThread,
    // The PGlite thread dying leaves the store failing every statement (readiness turns 503): say why, loudly.
    onBackendFailure: (err) => logger.fatal({ err }, 'the embedded store (PGlite thread) stopped; restart Marquee'),
  });
  const blobs = createBlobStorage(config);

  if (await store.isEmpty()) {
    const admin = await createFirstAdmin(store, config.adminEmail, config.adminPassword);
    logger.info({ email: admin.user.email }, 'first start: admin user created');
    if (admin.generated) {
      // Printed once, on the first start only: the hash is all the store keeps.
      process.stdout.write(
        `\nFirst start: created the admin user ${admin.user.email} with the password:\n\n    ${admin.password}\n\n` +
          'It is shown only this once. Sign in and change it (or set MARQUEE_ADMIN_PASSWORD before the first start).\n\n',
      );
    }
    if (config.loadDemoData) {
      await loadDemoData(
        store,
        { userId: admin.user.id, label: 'system:demo-data' },
        { blobs, publicUrl: config.publicUrl },
      );
      logger.info('first start: demo data loaded (MARQUEE_DEMO_DATA=false to skip)');
    }
  }

  const lifecycle = createLifecycle();
  const topology = servingTopology(config);
  if (topology.cluster) return runPrimary({ config, store, logger, blobs }, lifecycle, topology.workers);
  const app = await createApp({ config, store, logger, blobs }, { lifecycle });
  installGracefulShutdown({
    app,
    store,
    lifecycle,
    logger,
    timeoutMs: config.shutdownTimeoutMs ?? CONFIG_DEFAULTS.shutdownTimeoutMs,
  });
  await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  process.stdout.write(`Marquee is running at http://${host}:${port} — sign in as ${config.adminEmail}\n`);
}

// A serving worker of the cluster (cluster/run-cluster.ts) runs the same file.
const entry = cluster.isWorker
  ? (async () => {
      const config = readConfig();
      await runWorker(config, pino({ level: config.logLevel, timestamp: pino.stdTimeFunctions.isoTime }));
    })()
  : main();
entry.catch((err: unknown) => {
  process.stderr.write(`Marquee failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
