/**
 * A Kysely dialect for PGlite (PostgreSQL compiled to WASM, in process).
 *
 * Why our own (about 80 lines) rather than a package: `kysely-pglite-dialect@1.3` declares
 * `@electric-sql/pglite` ^0.2–^0.4 as a peer (we use 0.5, npm refuses the tree), and `kysely-pglite`
 * ships a code-generation CLI (oclif, kysely-codegen, chokidar, ...) we do not want at run time.
 *
 * PGlite has ONE connection. Kysely runs a transaction as BEGIN ... COMMIT on an acquired connection,
 * so two concurrent transactions would interleave their statements on that connection. The driver
 * therefore hands the connection out under a mutex: a transaction (or a single query) owns it until
 * it is released, which serialises transactions exactly as a one-connection pool would.
 *
 * The database behind it is anything with PGlite's `query`: PGlite itself (in this thread) or a
 * PGliteThread (PGlite in a worker thread, the default; pglite-thread.ts). The mutex stays here, on the
 * main thread, either way.
 */
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/** What a PGlite query returns that the driver reads. */
export interface PGliteQueryResult<R> {
  rows: R[];
  /** Cumulative rows changed (INSERT/UPDATE/DELETE/MERGE). */
  affectedRows?: number;
  /** The command tag's verb, e.g. "SELECT", "INSERT". */
  command?: string;
}

/** The part of PGlite the dialect uses; PGlite and PGliteThread both have it. */
export interface PGliteQueryable {
  query<R>(sql: string, params: unknown[]): Promise<PGliteQueryResult<R>>;
}

export class PGliteDialect implements Dialect {
  readonly #pglite: PGliteQueryable;
  constructor(pglite: PGliteQueryable) {
    this.#pglite = pglite;
  }
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.#pglite);
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
}

class PGliteDriver implements Driver {
  readonly #connection: PGliteConnection;
  #queue: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  constructor(pglite: PGliteQueryable) {
    this.#connection = new PGliteConnection(pglite);
  }
  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#queue;
    let release!: () => void;
    this.#queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    this.#release = release;
    return this.#connection;
  }
  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let text = 'begin';
    if (settings.isolationLevel) text += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) text += ` ${settings.accessMode}`;
    await connection.executeQuery(CompiledQuery.raw(text));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
  async destroy(): Promise<void> {
    // The PGlite instance belongs to the caller (createStore closes it after Kysely).
  }
}

class PGliteConnection implements DatabaseConnection {
  readonly #pglite: PGliteQueryable;
  constructor(pglite: PGliteQueryable) {
    this.#pglite = pglite;
  }
  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#pglite.query<R>(compiled.sql, [...compiled.parameters]);
    const command = result.command;
    const affected =
      command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
        ? BigInt(result.affectedRows ?? 0)
        : undefined;
    return affected === undefined ? { rows: result.rows } : { rows: result.rows, numAffectedRows: affected };
  }
  // biome-ignore lint/correctness/useYield: PGlite has no cursors; streaming is not supported.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite dialect does not support streaming');
  }
}
