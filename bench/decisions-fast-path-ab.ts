/**
 * Same-process A/B of `POST /v1/decisions` over HTTP: the fast path in front of Fastify
 * (apps/server/src/serving/decision-fast-path.ts) against the Fastify route, alternating short wrk runs against
 * ONE app. Fastify's side is reached with a content type the fast path does not take but Fastify parses with
 * the same JSON parser (`application/json; charset=UTF-8`): same body, same answer. Prints req/s and the CPU
 * µs per request of this process's main thread and of the whole process (wrk runs in its own process).
 *
 *   node --import tsx bench/decisions-fast-path-ab.ts [rounds=4] [seconds=4] [connections=32] [only=fast|fastify]
 *   (a profile of one side: node --cpu-prof --cpu-prof-dir=/tmp/p --import tsx bench/decisions-fast-path-ab.ts 3 5 32 fast)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestApp } from '../apps/server/src/testing/test-app.ts';
import { seedWorld } from '../apps/server/src/tracking/tracking-world.ts';
import { processCpuMs, threadCpuMs } from './proc-cpu.ts';

const ROUNDS = Number(process.argv[2] ?? 4);
const SECONDS = Number(process.argv[3] ?? 4);
const CONNECTIONS = Number(process.argv[4] ?? 32);

const t = await createTestApp({ backend: 'pglite', config: { rollups: false } });
const world = await seedWorld(t.store);
const body = JSON.stringify({
  placements: [{ id: world.placements.cpm }, { id: world.placements.b }],
  user: { key: 'user-1' },
  site: { page: 'https://news.example/article/1', keywords: ['Travel', 'sport'] },
  device: {
    ip: '81.2.69.160',
    ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  },
});
for (;;) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/decisions',
    payload: body,
    headers: { 'content-type': 'application/json' },
  });
  if (res.json().decisions[world.placements.cpm]?.length) {
    console.log(`response ${res.body.length} bytes`);
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
}
await t.app.listen({ port: 0, host: '127.0.0.1' });
const port = (t.app.server.address() as AddressInfo).port;

const dir = mkdtempSync(join(tmpdir(), 'dfast-ab-'));
const script = (type: string) => {
  const file = join(dir, `${type.replace(/\W/g, '_')}.lua`);
  writeFileSync(
    file,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "${type}"\nwrk.body = ${JSON.stringify(body)}\n`,
  );
  return file;
};
const ONLY = process.argv[5];
const modes = [
  { name: 'fast path', lua: script('application/json') },
  { name: 'Fastify  ', lua: script('application/json; charset=UTF-8') },
].filter((m) => !ONLY || (ONLY === 'fast') === m.name.startsWith('fast path'));
const mainCpu = () => threadCpuMs(process.pid).get('node(main)') ?? Number.NaN;

/** Runs wrk in a child process while this process serves; the event loop must stay free, so execFile async. */
async function run(lua: string): Promise<{ requests: number; mainMs: number; procMs: number; seconds: number }> {
  const m0 = mainCpu();
  const p0 = processCpuMs(process.pid);
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      'wrk',
      ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '-s', lua, `http://127.0.0.1:${port}/v1/decisions`],
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  if (non2xx > 0) throw new Error(`${non2xx} non-2xx answers:\n${out}`);
  return { requests, mainMs: mainCpu() - m0, procMs: processCpuMs(process.pid) - p0, seconds: SECONDS };
}

console.log(`load average ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim()}`);
for (const m of modes) await run(m.lua); // warm-up
const totals = modes.map(() => ({ requests: 0, mainMs: 0, procMs: 0 }));
for (let round = 1; round <= ROUNDS; round++) {
  // Alternate which goes first.
  const order = modes.length === 1 ? [0] : round % 2 === 1 ? [0, 1] : [1, 0];
  for (const i of order) {
    const r = await run(modes[i]!.lua);
    const tot = totals[i]!;
    tot.requests += r.requests;
    tot.mainMs += r.mainMs;
    tot.procMs += r.procMs;
    console.log(
      `round ${round} ${modes[i]!.name}: ${Math.round(r.requests / r.seconds)} req/s, main thread ${((r.mainMs * 1000) / r.requests).toFixed(0)} µs/req, process ${((r.procMs * 1000) / r.requests).toFixed(0)} µs/req`,
    );
  }
}
for (const [i, m] of modes.entries()) {
  const tot = totals[i]!;
  console.log(
    `total ${m.name}: ${Math.round(tot.requests / (ROUNDS * SECONDS))} req/s, main thread ${((tot.mainMs * 1000) / tot.requests).toFixed(0)} µs/req, process ${((tot.procMs * 1000) / tot.requests).toFixed(0)} µs/req`,
  );
}
console.log(`load average ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim()}`);
await t.close();
