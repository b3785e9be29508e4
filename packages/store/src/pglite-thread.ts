/**
 * PGlite in a worker thread: the main thread's side.
 *
 * PGlite is PostgreSQL compiled to WASM; every statement runs synchronously on the thread that owns it.
 * In process, a bulk management write or a rollup commit therefore blocked the event loop that also serves
 * HTTP (and, in the cluster, answers the serving workers' RPCs) for as long as the SQL ran. Here PGlite
 * lives in a `node:worker_threads` Worker (pglite-worker.mjs) and the main thread only posts statements and
 * receives rows over the worker's MessagePort; structured clone carries Date, Uint8Array, bigint and
 * parsed JSON both ways.
 *
 * Errors come back as plain objects and are rebuilt here with the same message and Postgres fields
 * (code, constraint, detail, table, ...), so `error.code === '23505'` and friends behave as before.
 * A worker that dies rejects every pending and later statement with a PGliteThreadError (never a hang)
 * and is reported once through `onExit`.
 */
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { messages, TransactionAbortedError } from '@electric-sql/pglite';
import type { PGliteQueryable, PGliteQueryResult } from './pglite-dialect.ts';

interface SerializedError {
  readonly message: string;
  /** PGlite's DatabaseError, its TransactionAbortedError (COMMIT of a failed transaction), or anything else. */
  readonly kind: 'database' | 'aborted' | 'other';
  readonly stack?: string;
  readonly fields: Readonly<Record<string, unknown>>;
}
type Reply =
  | { readonly ready: true }
  | { readonly failed: SerializedError }
  | {
      readonly id: number;
      readonly rows?: unknown[];
      readonly command?: string;
      readonly affectedRows?: number;
      readonly error?: SerializedError;
    };
interface Pending {
  resolve(result: PGliteQueryResult<unknown>): void;
  reject(error: Error): void;
}

/** The worker thread is gone (crashed or terminated) or never started: nothing more will run. */
export class PGliteThreadError extends Error {
  readonly code = 'ERR_PGLITE_THREAD';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PGliteThreadError';
  }
}

export interface PGliteThreadOptions {
  /** `<dataDir>/pglite` directory, or undefined for an in-memory database. */
  readonly dir?: string;
  /** Called once if the thread dies before close() (the error every statement now rejects with). */
  readonly onExit?: (error: PGliteThreadError) => void;
  /** V8 heap limits of the thread (a thread over them dies and is reported like any crash). */
  readonly resourceLimits?: ResourceLimits;
}

const WORKER_URL = new URL('./pglite-worker.mjs', import.meta.url);

/** A statement error rebuilt on this thread: PGlite's class and message, its Postgres fields. */
function rebuildError(serialized: SerializedError): Error {
  const error = (
    serialized.kind === 'aborted'
      ? new TransactionAbortedError()
      : serialized.kind === 'database'
        ? new messages.DatabaseError(serialized.message, 0, 'error')
        : new Error(serialized.message)
  ) as Error & Record<string, unknown>;
  error.message = serialized.message;
  for (const [key, value] of Object.entries(serialized.fields)) {
    // `name` is an own property on purpose: PGlite's DatabaseError names itself 'error'.
    Object.defineProperty(error, key, { value, writable: true, enumerable: key !== 'name', configurable: true });
  }
  if (serialized.stack) error.stack = `${error.stack}\n    --- in the PGlite thread ---\n${serialized.stack}`;
  return error;
}

export class PGliteThread implements PGliteQueryable {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #onExit: ((error: PGliteThreadError) => void) | undefined;
  #nextId = 1;
  /** Set once the thread cannot take statements any more (closing, closed, or dead). */
  #refusal: Error | undefined;
  #closing: Promise<void> | undefined;

  private constructor(worker: Worker, onExit: ((error: PGliteThreadError) => void) | undefined) {
    this.#worker = worker;
    this.#onExit = onExit;
  }

  /** Starts the thread and opens PGlite in it; rejects (and stops the thread) if PGlite cannot open. */
  static async open(options: PGliteThreadOptions = {}): Promise<PGliteThread> {
    // The entry is plain JS: no loader needed, so the parent's `--import tsx` (and Vitest's flags) stay out.
    const worker = new Worker(WORKER_URL, {
      workerData: { dataDir: options.dir },
      execArgv: [],
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (reply: Reply) => {
        if ('ready' in reply) {
          cleanup();
          resolve();
        } else if ('failed' in reply) {
          cleanup();
          void worker.terminate();
          reject(rebuildError(reply.failed));
        }
      };
      const onError = (error: Error) => {
        cleanup();
        reject(new PGliteThreadError(`The PGlite thread failed to start: ${error.message}`, { cause: error }));
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new PGliteThreadError(`The PGlite thread exited (code ${code}) before PGlite opened`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    const thread = new PGliteThread(worker, options.onExit);
    thread.#listen();
    return thread;
  }

  #listen(): void {
    const worker = this.#worker;
    let crash: Error | undefined;
    worker.on('message', (reply: Reply) => {
      if (!('id' in reply)) return;
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      this.#idle();
      if (reply.error) pending.reject(rebuildError(reply.error));
      else {
        const result: PGliteQueryResult<unknown> = { rows: reply.rows ?? [] };
        if (reply.command !== undefined) result.command = reply.command;
        if (reply.affectedRows !== undefined) result.affectedRows = reply.affectedRows;
        pending.resolve(result);
      }
    });
    // An uncaught exception in the thread: 'exit' follows; keep the cause for its message.
    worker.on('error', (error) => {
      crash = error;
    });
    worker.on('exit', (code) => {
      const closedOnPurpose = this.#closing !== undefined && this.#pending.size === 0;
      const error = new PGliteThreadError(
        crash ? `The PGlite thread crashed: ${crash.message}` : `The PGlite thread exited unexpectedly (code ${code})`,
        crash ? { cause: crash } : undefined,
      );
      if (!closedOnPurpose || this.#refusal === undefined) this.#refusal = error;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
      if (!closedOnPurpose) this.#onExit?.(error);
    });
    // No statement in flight: the thread must not keep the process alive (PGlite in process did not).
    worker.unref();
  }

  #idle(): void {
    if (this.#pending.size === 0) this.#worker.unref();
  }

  #send<R>(message: { sql: string; params: readonly unknown[] } | { close: true }): Promise<PGliteQueryResult<R>> {
    return new Promise<PGliteQueryResult<R>>((resolve, reject) => {
      const id = this.#nextId++;
      try {
        this.#worker.postMessage({ id, ...message });
      } catch (error) {
        // A parameter structured clone cannot carry (a function, a class with private state...).
        reject(error as Error);
        return;
      }
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve: resolve as Pending['resolve'], reject });
    });
  }

  query<R>(sql: string, params: readonly unknown[] = []): Promise<PGliteQueryResult<R>> {
    if (this.#refusal) return Promise.reject(this.#refusal);
    return this.#send<R>({ sql, params });
  }

  /**
   * Closes PGlite after the statements already sent (as PGlite's own close waits for its queries), then
   * ends the thread. Statements sent after close() reject with "PGlite is closed". Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#refusal) {
        await this.#worker.terminate();
        return;
      }
      this.#refusal = new Error('PGlite is closed');
      try {
        await this.#send({ close: true });
      } finally {
        await this.#worker.terminate();
      }
    })();
    return this.#closing;
  }
}
