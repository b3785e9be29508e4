/**
 * Graceful shutdown on SIGTERM/SIGINT: /health turns 503, the server stops accepting connections and
 * finishes the requests in flight (fastify.close), then the store closes and the process exits 0.
 * A second signal, or the timeout, forces exit 1.
 */
import type { Store } from '@marquee/store';
import type { FastifyBaseLogger } from 'fastify';
import type { App } from '../deps.ts';
import type { Lifecycle } from './lifecycle.ts';

export interface ShutdownOptions {
  readonly app: App;
  readonly store: Store;
  readonly lifecycle: Lifecycle;
  readonly logger: FastifyBaseLogger;
  readonly timeoutMs: number;
  readonly signals?: readonly NodeJS.Signals[];
  readonly exit?: (code: number) => void;
}

/** Installs the signal handlers; returns `shutdown(reason)` to stop the same way from code. */
export function installGracefulShutdown(options: ShutdownOptions): (reason: string) => Promise<void> {
  const { app, store, lifecycle, logger, timeoutMs } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let running: Promise<void> | undefined;

  const shutdown = (reason: string): Promise<void> => {
    if (running) {
      logger.warn({ reason }, 'second stop request: exiting now');
      exit(1);
      return running;
    }
    lifecycle.markStopping();
    logger.info({ reason, timeoutMs }, 'shutting down: finishing requests in flight');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out: exiting with requests still in flight');
      exit(1);
    }, timeoutMs);
    timer.unref();
    running = (async () => {
      try {
        await app.close();
        await store.close();
        clearTimeout(timer);
        logger.info('stopped');
        exit(0);
      } catch (err) {
        logger.error({ err }, 'shutdown failed');
        exit(1);
      }
    })();
    return running;
  };

  for (const signal of options.signals ?? (['SIGTERM', 'SIGINT'] as const)) {
    process.on(signal, () => void shutdown(signal));
  }
  return shutdown;
}
