/**
 * One dedicated PostgreSQL connection per store that LISTENs on `marquee_changes`, so followers in this
 * process hear about commits made by OTHER processes at once. It reconnects quietly (backoff up to 5 s)
 * when the database goes away, and wakes every follower after reconnecting, since notifications sent
 * while it was disconnected are lost (the follower's poll covers them either way).
 */
import pg from 'pg';
import { NOTIFY_CHANNEL } from './store-context.ts';

export class PostgresNotifyListener {
  readonly #config: pg.ClientConfig;
  readonly #schema: string;
  readonly #wakers = new Set<() => void>();
  #client: pg.Client | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #interrupt: (() => void) | undefined;

  constructor(config: pg.ClientConfig, schema: string) {
    this.#config = config;
    this.#schema = schema;
  }

  /** Registers a wake-up; returns its removal. The connection lives while anyone is subscribed. */
  subscribe(wake: () => void): () => Promise<void> {
    this.#wakers.add(wake);
    if (!this.#running) {
      this.#running = true;
      this.#loop = this.#run();
    }
    return async () => {
      this.#wakers.delete(wake);
      if (this.#wakers.size === 0) await this.stop();
    };
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#interrupt?.();
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
    await this.#loop;
  }

  #wakeAll(): void {
    for (const wake of this.#wakers) wake();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      const client = new pg.Client(this.#config);
      const ended = new Promise<void>((resolve) => {
        client.on('end', () => resolve());
        client.on('error', () => resolve());
      });
      client.on('notification', (message) => {
        if (message.channel === NOTIFY_CHANNEL && message.payload === this.#schema) this.#wakeAll();
      });
      try {
        await client.connect();
        await client.query(`listen ${NOTIFY_CHANNEL}`);
        if (!this.#running) {
          await client.end().catch(() => {});
          return;
        }
        this.#client = client;
        if (failures > 0) this.#wakeAll();
        failures = 0;
        await ended;
      } catch {
        // Database unreachable: retry below.
      }
      this.#client = undefined;
      await client.end().catch(() => {});
      if (!this.#running) return;
      failures++;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(100 * 2 ** failures, 5000));
        timer.unref();
        this.#interrupt = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#interrupt = undefined;
    }
  }
}
