/**
 * Opens the management store: PGlite in process (default, persisted under `<dataDir>/pglite` or in
 * memory; run in a worker thread unless `pgliteThread: false`) or PostgreSQL when `databaseUrl` is set.
 * Both go through the same Kysely code and SQL.
 */
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './database.ts';
import { DESCRIPTORS } from './entity-descriptors.ts';
import { migrate } from './migrations.ts';
import { PGliteDialect, type PGliteQueryable } from './pglite-dialect.ts';
import { PGliteThread } from './pglite-thread.ts';
import type { EntityKind, EntityRepository, Store, StoreOptions } from './ports.ts';
import { PostgresAssetStore } from './postgres-asset-store.ts';
import { PostgresAuditLog } from './postgres-audit-log.ts';
import { PostgresBillingStore } from './postgres-billing-store.ts';
import { PostgresChangeFeed } from './postgres-change-feed.ts';
import { PostgresCredentials } from './postgres-credentials.ts';
import { PostgresEntityRepository } from './postgres-entity-repository.ts';
import { PostgresNetworkSettings } from './postgres-network-settings.ts';
import { PostgresNotifyListener } from './postgres-notify-listener.ts';
import { PostgresRollupStore } from './postgres-rollup-store.ts';
import { hash31, type StoreContext } from './store-context.ts';

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
/** MARQUEE_PGLITE_THREAD values that keep PGlite on this thread when StoreOptions leave it unset. */
const OFF: ReadonlySet<string> = new Set(['0', 'false', 'no', 'off']);

export async function createStore(options: StoreOptions): Promise<Store> {
  return (await openStoreWithDatabase(options)).store;
}

/**
 * The store and its Kysely handle, for benchmarks and maintenance scripts that need raw SQL on the
 * very connection the store uses (PGlite has only one). Not exported from the package index.
 */
export async function openStoreWithDatabase(options: StoreOptions): Promise<{ store: Store; db: Kysely<Database> }> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.schema ?? 'public') : openPGlite(options);
}

async function openPGlite(options: StoreOptions): Promise<{ store: Store; db: Kysely<Database> }> {
  let dir: string | undefined;
  if (options.dataDir !== undefined) {
    dir = join(options.dataDir, 'pglite');
    await mkdir(dir, { recursive: true });
  }
  const onWorkerThread = options.pgliteThread ?? !OFF.has((process.env.MARQUEE_PGLITE_THREAD ?? '').toLowerCase());
  const pglite: PGliteQueryable & { close(): Promise<void> } = onWorkerThread
    ? await PGliteThread.open({
        ...(dir === undefined ? {} : { dir }),
        onExit: options.onBackendFailure ?? reportThreadExit,
      })
    : await PGlite.create(dir);
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  try {
    const store = await assemble(db, 'pglite', 'public', undefined, async () => {
      await pglite.close();
    });
    return { store, db };
  } catch (error) {
    await db.destroy();
    await pglite.close();
    throw error;
  }
}

/** Without an onBackendFailure, a dead PGlite thread is at least said on stderr. */
function reportThreadExit(error: Error): void {
  process.emitWarning(error.message, { code: 'MARQUEE_PGLITE_THREAD_EXIT' });
}

async function openPostgres(databaseUrl: string, schema: string): Promise<{ store: Store; db: Kysely<Database> }> {
  if (!SCHEMA_RE.test(schema)) throw new Error(`Invalid PostgreSQL schema name "${schema}"`);
  const config: pg.ClientConfig = {
    connectionString: databaseUrl,
    // Every connection (pool and listener) resolves table names in the store's schema.
    options: `-c search_path=${schema}`,
    application_name: `marquee:${schema}`,
    connectionTimeoutMillis: 5000,
  };
  const pool = new pg.Pool({ ...config, max: 10, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection (database restart) emits 'error' on the pool; unhandled it
  // would crash the process. The next query simply gets a fresh connection.
  pool.on('error', () => {});
  // The same can happen to a client while it is checked out (between statements of a transaction);
  // the query in flight rejects on its own, so the event itself needs no handling.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db).catch((error: unknown) => {
      // Two processes creating the schema at once: the loser sees a duplicate; the schema exists.
      const code = (error as { code?: string }).code;
      if (code !== '23505' && code !== '42P06') throw error;
    });
    const listener = new PostgresNotifyListener(config, schema);
    const store = await assemble(db, 'postgres', schema, listener, async () => {
      await listener.stop();
    });
    return { store, db };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

async function assemble(
  db: Kysely<Database>,
  backend: 'pglite' | 'postgres',
  schema: string,
  listener: PostgresNotifyListener | undefined,
  closeBackend: () => Promise<void>,
): Promise<Store> {
  await migrate(db, [hash31('marquee:migrations'), hash31(schema)]);
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const ctx: StoreContext = { db, backend, schema, feedLock: [hash31('marquee:changes'), hash31(schema)], events };
  const repos = Object.fromEntries(
    Object.values(DESCRIPTORS).map((d) => [d.kind, new PostgresEntityRepository(ctx, d)]),
  ) as unknown as { readonly [K in EntityKind]: EntityRepository<K> };
  const feed = new PostgresChangeFeed(ctx, listener);
  let closed = false;

  return {
    backend,
    repos,
    feed,
    audit: new PostgresAuditLog(ctx),
    credentials: new PostgresCredentials(ctx),
    assets: new PostgresAssetStore(ctx),
    network: new PostgresNetworkSettings(ctx),
    rollups: new PostgresRollupStore(ctx),
    billing: new PostgresBillingStore(ctx),
    async isEmpty() {
      const row = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
      return row === undefined;
    },
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await feed.stopAll();
      await db.destroy();
      await closeBackend();
    },
  };
}
