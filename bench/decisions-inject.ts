/**
 * CPU per `POST /v1/decisions` through the whole app in process (Fastify's inject: every hook, the body parse,
 * validation, the decision, the request event, serialisation; no socket), in µs of process CPU per request.
 * Less noisy than the HTTP bench for comparing code versions: run it alternately in two trees.
 *
 *   node --import tsx bench/decisions-inject.ts [requests=20000] [rounds=5]
 *   for i in 1 2 3; do (cd /tmp/base && node --import tsx bench/decisions-inject.ts); node --import tsx bench/decisions-inject.ts; done
 */
import { readFileSync } from 'node:fs';
import { createTestApp } from '../apps/server/src/testing/test-app.ts';
import { seedWorld } from '../apps/server/src/tracking/tracking-world.ts';

const REQUESTS = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 5);

const t = await createTestApp({ backend: 'pglite', config: { rollups: false } });
const world = await seedWorld(t.store);
// The serving snapshot follows the store's change feed: wait until the placement fills.
const body = (i: number) =>
  JSON.stringify({
    placements: [{ id: world.placements.cpm }, { id: world.placements.b }],
    user: { key: `user-${i % 1000}` },
    site: { page: 'https://news.example/article/1', keywords: ['Travel', 'sport'] },
    device: {
      ip: '81.2.69.160',
      ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
    },
  });
const bodies = Array.from({ length: 64 }, (_, i) => body(i));
for (let tries = 0; ; tries++) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/decisions',
    payload: bodies[0],
    headers: { 'content-type': 'application/json' },
  });
  if (res.json().decisions[world.placements.cpm]?.length) {
    console.log(`response ${res.body.length} bytes`);
    break;
  }
  if (tries > 100) throw new Error(`no fill: ${res.body}`);
  await new Promise((r) => setTimeout(r, 100));
}

async function round(n: number): Promise<number> {
  const t0 = process.cpuUsage();
  // 50 in flight, like the HTTP bench's connections.
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        payload: bodies[i % bodies.length],
        headers: { 'content-type': 'application/json', 'user-agent': 'bench' },
      });
      if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`);
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  // Let the request events' appends settle inside the round.
  await new Promise((r) => setTimeout(r, 50));
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / n;
}

await round(Math.min(REQUESTS, 5000)); // warm-up
const us: number[] = [];
for (let r = 0; r < ROUNDS; r++) us.push(await round(REQUESTS));
const sorted = [...us].sort((a, b) => a - b);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(
  `${process.cwd()}: CPU µs/decision (inject) median ${sorted[sorted.length >> 1]!.toFixed(1)}, min ${sorted[0]!.toFixed(1)}; rounds ${us.map((x) => x.toFixed(0)).join(' / ')}; load ${load}`,
);
await t.close();
