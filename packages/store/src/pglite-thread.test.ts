/**
 * The PGlite driver with PGlite in a worker thread (the default), checked against PGlite in this thread:
 * errors keep their Postgres fields, values cross structured clone unchanged, transactions roll back and
 * serialise, close drains, and a dead thread rejects instead of hanging.
 */
import { messages, PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGliteDialect } from './pglite-dialect.ts';
import { PGliteThread, PGliteThreadError } from './pglite-thread.ts';

// biome-ignore lint/suspicious/noExplicitAny: the test tables are not part of the store's Database type.
type AnyDb = Kysely<any>;

const SCHEMA = [
  `create table items (id bigserial primary key, name text not null constraint items_name_key unique,
     qty integer not null check (qty >= 0), big int8, at timestamptz, blob bytea, doc jsonb)`,
  'create table log (seq bigserial primary key, tx text not null, step int not null)',
];

/** Every own field of an error but its stack (and `query`/`params`, which hold the statement). */
function fieldsOf(error: unknown): Record<string, unknown> {
  const e = error as Record<string, unknown>;
  const out: Record<string, unknown> = { message: (error as Error).message, name: (error as Error).name };
  for (const key of Object.getOwnPropertyNames(e)) {
    if (key === 'stack' || key === 'length' || key === 'queryOptions') continue;
    if (e[key] !== undefined) out[key] = e[key];
  }
  return out;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('PGlite driver: worker thread vs this thread', () => {
  let thread: PGliteThread;
  let local: PGlite;
  let viaThread: AnyDb;
  let viaLocal: AnyDb;

  beforeAll(async () => {
    [thread, local] = await Promise.all([PGliteThread.open(), PGlite.create()]);
    viaThread = new Kysely({ dialect: new PGliteDialect(thread) });
    viaLocal = new Kysely({ dialect: new PGliteDialect(local) });
    for (const db of [viaThread, viaLocal]) for (const text of SCHEMA) await sql.raw(text).execute(db);
  });
  afterAll(async () => {
    await viaThread?.destroy();
    await viaLocal?.destroy();
    await thread?.close();
    await local?.close();
  });

  it('rebuilds Postgres errors with the same message and fields (unique, check, not null, syntax, serialization)', async () => {
    const statements: [string, unknown[]][] = [
      ["insert into items (name, qty) values ('dup', 1)", []],
      ["insert into items (name, qty) values ('neg', -1)", []],
      ['insert into items (name, qty) values (null, $1)', [1]],
      ['selec 1', []],
      ['select 1/0 where $1::text is not null', ['a']],
      ['select $1::int', ['not a number']],
    ];
    for (const db of [viaThread, viaLocal]) await sql`insert into items (name, qty) values ('dup', 1)`.execute(db);
    for (const [text, parameters] of statements) {
      const run = (db: AnyDb) => failure(db.executeQuery(CompiledQuery.raw(text, parameters)));
      const [remote, here] = await Promise.all([run(viaThread), run(viaLocal)]);
      expect(remote).toBeInstanceOf(messages.DatabaseError);
      expect(fieldsOf(remote)).toEqual(fieldsOf(here));
    }
    const dup = (await failure(sql`insert into items (name, qty) values ('dup', 2)`.execute(viaThread))) as Record<
      string,
      unknown
    >;
    expect(dup).toMatchObject({ code: '23505', constraint: 'items_name_key', table: 'items', schema: 'public' });
    expect(dup['detail']).toContain('(name)=(dup)');
    expect(dup['severity']).toBe('ERROR');
    // The stack goes on with where it failed in the thread.
    expect((dup as unknown as Error).stack).toContain('--- in the PGlite thread ---');
  });

  it('carries parameters and rows across structured clone as in this thread (bytea, Date, int8, bigint, JSON)', async () => {
    const at = new Date('2026-11-27T12:34:56.789Z');
    const blob = Buffer.from([0, 1, 2, 253, 254, 255]);
    const values = {
      name: 'values',
      qty: 3,
      big: 9_007_199_254_740_000n,
      at,
      blob,
      doc: JSON.stringify({ a: [1, 'two', null], b: { c: true } }),
    };
    const rows = [];
    for (const db of [viaThread, viaLocal]) {
      await db.insertInto('items').values(values).execute();
      await db
        .insertInto('items')
        .values({ name: 'u8', qty: 0, blob: new Uint8Array([9, 8, 7]) })
        .execute();
      rows.push(
        await db
          .selectFrom('items')
          .select(['name', 'qty', 'big', 'at', 'blob', 'doc', sql<number>`count(*) over ()`.as('n')])
          .where('name', 'in', ['values', 'u8'])
          .orderBy('name')
          .execute(),
      );
    }
    const [remote, here] = rows;
    expect(remote).toEqual(here);
    const [u8, v] = remote as unknown as [Record<string, unknown>, Record<string, unknown>];
    expect(v['at']).toBeInstanceOf(Date);
    expect((v['at'] as Date).toISOString()).toBe(at.toISOString());
    expect(v['blob']).toBeInstanceOf(Uint8Array);
    expect([...(v['blob'] as Uint8Array)]).toEqual([...blob]);
    expect([...(u8['blob'] as Uint8Array)]).toEqual([9, 8, 7]);
    expect(v['doc']).toEqual({ a: [1, 'two', null], b: { c: true } });
    expect(typeof v['n']).toBe(typeof (here as Record<string, unknown>[])[0]?.['n']);
  });

  it('reports affected rows as this thread does', async () => {
    for (const db of [viaThread, viaLocal]) {
      await db
        .insertInto('items')
        .values([
          { name: 'aff1', qty: 1 },
          { name: 'aff2', qty: 1 },
        ])
        .execute();
    }
    const run = (db: AnyDb) =>
      Promise.all([
        db.updateTable('items').set({ qty: 5 }).where('name', 'like', 'aff%').executeTakeFirst(),
        db.deleteFrom('items').where('name', '=', 'aff1').executeTakeFirst(),
        db.insertInto('items').values({ name: 'aff3', qty: 1 }).executeTakeFirst(),
        db.updateTable('items').set({ qty: 6 }).where('name', '=', 'none').executeTakeFirst(),
      ]);
    const [remote, here] = await Promise.all([run(viaThread), run(viaLocal)]);
    expect(remote).toEqual(here);
    expect(
      remote.map((r) =>
        'numUpdatedRows' in r
          ? r.numUpdatedRows
          : 'numDeletedRows' in r
            ? r.numDeletedRows
            : r.numInsertedOrUpdatedRows,
      ),
    ).toEqual([2n, 1n, 1n, 0n]);
  });

  it('rolls a failed transaction back', async () => {
    const error = await failure(
      viaThread.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ name: 'rolled-back', qty: 1 }).execute();
        await trx.insertInto('items').values({ name: 'dup', qty: 1 }).execute();
      }),
    );
    expect((error as { code?: string }).code).toBe('23505');
    const row = await viaThread.selectFrom('items').select('id').where('name', '=', 'rolled-back').executeTakeFirst();
    expect(row).toBeUndefined();
    // The connection is usable again (not left in an aborted transaction).
    expect((await sql<{ one: number }>`select 1 as one`.execute(viaThread)).rows).toEqual([{ one: 1 }]);
  });

  it('serialises concurrent transactions on the one connection', async () => {
    const tx = (name: string) =>
      viaThread.transaction().execute(async (trx) => {
        for (let step = 0; step < 3; step++) {
          await trx.insertInto('log').values({ tx: name, step }).execute();
          await new Promise((r) => setImmediate(r));
        }
      });
    await Promise.all(['a', 'b', 'c', 'd'].map(tx));
    const rows = await viaThread.selectFrom('log').select(['tx', 'step']).orderBy('seq').execute();
    expect(rows).toHaveLength(12);
    for (let i = 0; i < rows.length; i += 3) {
      const block = rows.slice(i, i + 3);
      expect(block.map((r) => r.step)).toEqual([0, 1, 2]);
      expect(new Set(block.map((r) => r.tx)).size).toBe(1);
    }
  });
});

describe('PGlite thread lifecycle', () => {
  it('close waits for the statements already sent, then refuses new ones', async () => {
    const thread = await PGliteThread.open();
    const pending = Array.from({ length: 20 }, (_, i) => thread.query<{ n: number }>('select $1::int as n', [i]));
    const closing = thread.close();
    const after = failure(thread.query('select 1', []));
    const results = await Promise.all(pending);
    expect(results.map((r) => r.rows[0]?.n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await closing;
    expect(((await after) as Error).message).toBe('PGlite is closed');
    expect(((await failure(thread.query('select 1', []))) as Error).message).toBe('PGlite is closed');
    await thread.close(); // idempotent
  });

  it('a parameter structured clone cannot carry rejects that statement only', async () => {
    const thread = await PGliteThread.open();
    try {
      const error = await failure(thread.query('select $1', [() => 1]));
      expect((error as Error).name).toBe('DataCloneError');
      expect((await thread.query<{ one: number }>('select 1 as one', [])).rows).toEqual([{ one: 1 }]);
    } finally {
      await thread.close();
    }
  });

  it('a thread that dies rejects pending and later statements with a clear error, and is reported once', async () => {
    const reported: Error[] = [];
    // A heap far too small for the rows asked: V8 stops the thread (a real crash, not a simulated one).
    const thread = await PGliteThread.open({
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 },
      onExit: (error) => reported.push(error),
    });
    const huge = failure(thread.query("select repeat('x', 1000000) as s from generate_series(1, 2000)", []));
    const queued = failure(thread.query('select 1', []));
    const [first, second] = await Promise.all([huge, queued]);
    expect(first).toBeInstanceOf(PGliteThreadError);
    expect((first as Error).message).toMatch(/PGlite thread (crashed|exited)/);
    expect(second).toBe(first);
    expect(await failure(thread.query('select 1', []))).toBe(first);
    expect(reported).toEqual([first]);
    await thread.close(); // still resolves: nothing left to close
  });

  it('a data directory PGlite cannot open rejects open() with its error', async () => {
    const error = await failure(PGliteThread.open({ dir: '/proc/self/this-cannot-exist/pglite' }));
    expect(error).toBeInstanceOf(Error);
  });
});
