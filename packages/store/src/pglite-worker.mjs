/**
 * Entry of the worker thread that runs PGlite off the main thread (see pglite-thread.ts).
 *
 * Plain JavaScript on purpose: it imports only @electric-sql/pglite, so it needs no TypeScript loader and
 * starts the same way under `node --import tsx` (npm start), Vitest and plain Node.
 *
 * Protocol on parentPort (a MessagePort):
 *   in:  { id, sql, params }            run one statement
 *        { id, close: true }            close PGlite (after everything sent before it)
 *   out: { ready: true } | { failed: error }                     once, after opening
 *        { id, rows, command, affectedRows } | { id, error }     one per request, in order
 * where an error is { message, kind: 'database' | 'aborted' | 'other', stack, fields }.
 * Requests run strictly one after another, in arrival order, so `close` follows the queries sent before it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { messages, PGlite, TransactionAbortedError } from '@electric-sql/pglite';

/** Postgres fields of PGlite's DatabaseError (and what PGlite adds) that survive the trip by name. */
const FIELDS = [
  'name',
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
  'query',
  'params',
];

/** An error as a plain object: structured clone keeps only an Error's message and stack. */
function serializeError(error) {
  if (!(error instanceof Error)) return { message: String(error), kind: 'other', fields: {} };
  // Rebuilt as the same PGlite class on the other side (instanceof keeps working).
  const kind =
    error instanceof TransactionAbortedError
      ? 'aborted'
      : error instanceof messages.DatabaseError
        ? 'database'
        : 'other';
  const fields = {};
  for (const key of FIELDS) {
    const value = error[key];
    if (value === undefined) continue;
    try {
      structuredClone(value);
      fields[key] = value;
    } catch {
      // Not cloneable (never expected): leave the field out rather than lose the whole error.
    }
  }
  return { message: error.message, kind, stack: error.stack, fields };
}

const port = parentPort;
let pglite;
try {
  pglite = await PGlite.create(workerData?.dataDir);
  port.postMessage({ ready: true });
} catch (error) {
  port.postMessage({ failed: serializeError(error) });
  port.close();
}

let chain = Promise.resolve();
if (pglite) {
  port.on('message', (request) => {
    chain = chain.then(() => handle(request));
  });
}

async function handle(request) {
  if (request.close) {
    try {
      await pglite.close();
      port.postMessage({ id: request.id, rows: [] });
    } catch (error) {
      port.postMessage({ id: request.id, error: serializeError(error) });
    }
    port.close();
    return;
  }
  try {
    const result = await pglite.query(request.sql, request.params);
    port.postMessage({
      id: request.id,
      rows: result.rows,
      command: result.command,
      affectedRows: result.affectedRows,
    });
  } catch (error) {
    port.postMessage({ id: request.id, error: serializeError(error) });
  }
}
