/**
 * Real worker processes sharing one budget through Redis, one of them SIGKILLed in the middle of a
 * lease: total spend (the event log) stays within budget + the sum of outstanding leases.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBudgetLeaseStore } from './redis-budget-lease-store.ts';

const REDIS_URL = process.env.MARQUEE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `mqtest:${randomUUID()}:`;
const admin = new Redis(REDIS_URL);
const WORKER = fileURLToPath(new URL('./lease-worker.fixture.ts', import.meta.url));

afterAll(async () => {
  const keys = await admin.keys(`${PREFIX}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

function worker(budget: number, want: number, die: boolean): { child: ChildProcess; lines: Promise<string>[] } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', WORKER, REDIS_URL, PREFIX, String(budget), String(want), ...(die ? ['die'] : [])],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let buf = '';
  const waiters: ((line: string) => void)[] = [];
  const lines = [0, 1].map(() => new Promise<string>((resolve) => waiters.push(resolve)));
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      waiters.shift()?.(buf.slice(0, i));
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
  });
  return { child, lines };
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((resolve) => (c.exitCode !== null ? resolve(c.exitCode) : c.once('exit', resolve)));

describe('leases across real worker processes (Redis)', () => {
  it('a worker SIGKILLed mid-lease: its lease expires, total spend stays within budget + outstanding leases', async () => {
    const B = 20_000_000;
    const WANT = 200_000;
    await admin.set(`${PREFIX}clock`, String(Date.now() + 365 * 86_400_000)); // future: day keys expire by Redis time
    const victim = worker(B, WANT, true);
    const survivors = [0, 1, 2].map(() => worker(B, WANT, false));
    const mid = await victim.lines[0]!;
    expect(mid).toMatch(/^MIDLEASE \d+ \d+$/);
    victim.child.kill('SIGKILL');
    expect(await exited(victim.child)).toBe(null); // killed by the signal, no exit code
    const done = await Promise.all(survivors.map((s) => s.lines[0]!));
    expect(done).toEqual(['DONE', 'DONE', 'DONE']);
    await Promise.all(survivors.map((s) => exited(s.child)));

    const actual = Number(await admin.get(`${PREFIX}log`));
    const [, granted, used] = mid.split(' ').map(Number);
    // The bound: budget + the leases outstanding (at most one per worker, each at most WANT).
    expect(actual).toBeLessThanOrEqual(B + 4 * WANT);
    expect(used!).toBeLessThanOrEqual(granted!);
    // The survivors used what was left, the dead worker's lease included once it expired.
    expect(actual).toBeGreaterThanOrEqual(B - 4 * WANT);

    // The rollups reconcile the dead worker's spend from the event log: no more grants then.
    const store = new RedisBudgetLeaseStore({ client: admin, keyPrefix: PREFIX, leaseTtlMs: 30_000, holdMs: 120_000 });
    const later = Number(await admin.get(`${PREFIX}clock`)) + 200_000;
    await store.reconcile(
      { lineItemId: 'li_crash', campaignId: 'cmp_crash', day: '2030-01-01', dayMicros: actual },
      later,
    );
    const s = await store.status('li_crash', 'cmp_crash', '2030-01-01', later);
    expect(s.lineItemDay).toMatchObject({
      spentMicros: actual,
      reservedMicros: 0,
      availableMicros: Math.max(0, B - actual),
    });
  });
});
