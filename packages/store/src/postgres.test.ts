import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore } from './create-store.ts';
import { fixtures } from './fixtures.ts';
import { ALL, type Change } from './ports.ts';
import { describeStoreContract } from './store.contract.ts';

const databaseUrl = process.env.MARQUEE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// One schema per test file (and run), dropped at the end, so files and runs can go in parallel.
const schema = `store_test_${process.pid}_${randomBytes(3).toString('hex')}`;
const open = () => createStore({ databaseUrl, schema });

afterAll(async () => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`drop schema if exists ${schema} cascade`);
  await client.end();
});

describeStoreContract('PostgreSQL', open, { persistent: true, sharedInstances: true });

describe('PostgreSQL change feed when the database connections drop', () => {
  it('keeps following quietly and resumes after every connection of the store is killed', async () => {
    const store = await open();
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const start = (await store.feed.loadSnapshot()).seq;
      const seen: Change[] = [];
      const stop = store.feed.follow(start, (batch) => void seen.push(...batch));
      const first = await store.repos.advertiser.create(fixtures.advertiser(), { userId: null, label: 't' });
      await eventually(() => expect(seen).toHaveLength(1));
      // Kill the pool's and the LISTEN connection's backends, as a database restart would.
      const killed = await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1',
        [`marquee:${schema}`],
      );
      expect(killed.rowCount).toBeGreaterThan(0);
      // The first query after the kill may fail on a dead pooled connection; a caller retries.
      let second: Awaited<ReturnType<typeof store.repos.advertiser.create>> | undefined;
      for (let i = 0; i < 5 && !second; i++) {
        second = await store.repos.advertiser
          .create(fixtures.advertiser(), { userId: null, label: 't' })
          .catch(() => undefined);
      }
      expect(second?.kind).toBe('ok');
      await eventually(() => expect(seen.map((c) => c.seq)).toEqual([start + 1, start + 2]));
      expect(first.kind).toBe('ok');
      expect(await store.ping()).toBe(true);
      expect((await store.repos.advertiser.list({}, ALL)).total).toBeGreaterThanOrEqual(2);
      await stop();
    } finally {
      await admin.end();
      await store.close();
    }
  });
});

async function eventually(check: () => void, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
