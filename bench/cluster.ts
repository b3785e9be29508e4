/**
 * `npm start` as one process (MARQUEE_WORKERS=1) beside the cluster (MARQUEE_WORKERS=2: a primary and two
 * serving workers), both up at once with the same network, measured in alternating rounds of one run:
 *
 *   1. peak decisions/s: wrk (closed loop, 64 request bodies cycled) against each;
 *   2. p99 of decisions at a fixed rate (olgen, open loop) quiet, and while 500 line items are paused and
 *      activated at once every 2 s through the management API (bulk-status, as in decisions-http "Updates").
 *
 *   npm run bench -- cluster
 *   BENCH_LINE_ITEMS=500 BENCH_ROUNDS=3 BENCH_SECONDS=10 BENCH_RATE=800 BENCH_CAPPED=0 npm run bench -- cluster
 *
 * The request bodies and network are decisions-http.ts's kind (demo placements, line items with geo and
 * device targeting, a quarter frequency-capped). On the 2-core machine the load tool competes with the
 * servers for the cores: the ratios are the figures to quote.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const LINE_ITEMS = Number(process.env.BENCH_LINE_ITEMS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Every 4th line item frequency-capped (default), or none (BENCH_CAPPED=0: no cap lookups over IPC). */
const CAPPED = process.env.BENCH_CAPPED !== '0';
const HOST = '127.0.0.1';
const work = mkdtempSync(join(tmpdir(), 'marquee-bench-cluster-'));

function tool(name: string, args: string[]): boolean {
  try {
    execFileSync(name, args, { stdio: 'pipe' });
    return true;
  } catch (err) {
    return Boolean((err as { stdout?: Buffer }).stdout?.toString().includes(name));
  }
}
const olgenSource = ['/work/shared/tools/olgen.c', join(ROOT, '..', 'shared', 'tools', 'olgen.c')].find(existsSync);
const olgen = olgenSource ? join(work, 'olgen') : undefined;
if (olgen && olgenSource) execFileSync('gcc', ['-O2', '-o', olgen, olgenSource, '-lm']);
if (!olgen || !tool('wrk', ['--version'])) {
  console.log('SKIP: needs wrk (apt-get install -y wrk) and olgen (gcc + /work/shared/tools/olgen.c)');
  process.exit(0);
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

const freePort = () =>
  new Promise<number>((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, HOST, () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startMarquee(workers: number): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      MARQUEE_WORKERS: String(workers),
      MARQUEE_DATA_DIR: mkdtempSync(join(work, 'data-')),
      MARQUEE_PORT: String(port),
      MARQUEE_HOST: HOST,
      MARQUEE_PUBLIC_URL: `http://localhost:${port}`,
      MARQUEE_LOG_LEVEL: 'warn',
      MARQUEE_ADMIN_PASSWORD: 'bench-admin-password',
      MARQUEE_RATE_LIMIT_PER_MINUTE: '10000000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  for (let t = 0; t < 600; t++) {
    if (child.exitCode !== null) throw new Error(`Marquee (${workers} workers) exited ${child.exitCode}`);
    if (
      await fetch(`http://${HOST}:${port}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return port;
    await sleep(250);
  }
  throw new Error('Marquee did not come up');
}

type Call = <T>(method: string, path: string, body?: unknown) => Promise<T>;
async function signIn(port: number): Promise<Call> {
  const base = `http://${HOST}:${port}/api/v1`;
  const login = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@localhost', password: 'bench-admin-password' }),
  });
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const created = await fetch(`${base}/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify({ name: 'bench', scope: 'write' }),
  });
  const { secret } = (await created.json()) as { secret: string };
  return async <T>(method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
}

interface Placement {
  id: string;
  formats: string[];
  sizes: { w: number; h: number }[];
}
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'CA', 'NL', 'AU', 'JP', 'IE', 'ES'];
const SIZES: [number, number][] = [
  [300, 250],
  [728, 90],
  [320, 50],
  [160, 600],
  [300, 600],
];

/** 10 advertisers with a creative of each demo size, and `n` line items with geo (and device) targeting. */
async function createNetwork(call: Call, n: number): Promise<string[]> {
  const owners: { campaignId: string; creatives: string[] }[] = [];
  for (let a = 0; a < 10; a++) {
    const adv = await call<{ id: string }>('POST', '/advertisers', { name: `Bench advertiser ${a}` });
    const cmp = await call<{ id: string }>('POST', '/campaigns', {
      advertiserId: adv.id,
      name: `Bench campaign ${a}`,
      status: 'active',
    });
    const creatives: string[] = [];
    for (const [w, h] of SIZES) {
      const cr = await call<{ id: string }>('POST', '/creatives', {
        advertiserId: adv.id,
        name: `Bench ${a} ${w}x${h}`,
        kind: 'html',
        width: w,
        height: h,
        html: `<div style="width:${w}px;height:${h}px">Bench ${a}</div>`,
        clickUrl: `https://advertiser-${a}.example/landing`,
        status: 'active',
        approval: 'approved',
      });
      creatives.push(cr.id);
    }
    owners.push({ campaignId: cmp.id, creatives });
  }
  const ids: string[] = [];
  for (let i = 0; i < n; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, n - i) }, async (_, k) => {
        const j = i + k;
        const owner = owners[j % owners.length]!;
        const and: unknown[] = [{ dimension: 'country', values: [COUNTRIES[j % 10], COUNTRIES[(j * 3 + 1) % 10]] }];
        if (j % 2 === 0) and.push({ dimension: 'device', values: ['desktop', 'mobile'] });
        const li = await call<{ id: string }>('POST', '/line-items', {
          campaignId: owner.campaignId,
          name: `Bench line item ${j}`,
          status: 'active',
          priority: 'standard',
          rateMicros: 500_000 + ((j * 37_123) % 4_000_000),
          startAt: new Date(Date.now() - 86_400_000).toISOString(),
          targeting: { and },
          frequencyCaps: CAPPED && j % 4 === 0 ? [{ count: 5, per: 'day' }] : [],
          creatives: owner.creatives.map((creativeId) => ({ creativeId, weight: 1 })),
        });
        ids.push(li.id);
      }),
    );
  }
  return ids;
}

const IPS = ['8.8.8.8', '81.2.69.160', '212.58.244.20', '193.0.6.139', '217.160.0.1', '1.1.1.1', '133.242.0.1'];
const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
function bodies(placements: Placement[]): string[] {
  const banners = placements.filter((p) => p.formats.includes('banner') && p.sizes.length > 0);
  return Array.from({ length: 64 }, (_, i) =>
    JSON.stringify({
      placements: [{ id: banners[i % banners.length]!.id }],
      user: { key: `user-${(i * 7919) % 100_000}` },
      device: { ip: IPS[i % IPS.length], ua: UA },
    }),
  );
}

function runWrk(port: number, seconds: number, script: string): Promise<number> {
  return new Promise((ok, fail) => {
    const p = spawn('wrk', [
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      '-s',
      script,
      `http://${HOST}:${port}/v1/decisions`,
    ]);
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
      if (!line) return fail(new Error(`wrk: ${out}`));
      const r = JSON.parse(line.slice(8)) as { requests: number; us: number; non2xx: number };
      if (r.non2xx) console.log(`  (${r.non2xx} non-2xx)`);
      ok((r.requests * 1e6) / r.us);
    });
  });
}

interface OlgenResult {
  rps: number;
  p50_us: number;
  p99_us: number;
  non2xx: number;
  errors: number;
}
function runOlgen(port: number, rate: number, seconds: number, bodyFile: string): Promise<OlgenResult> {
  return new Promise((ok, fail) => {
    const args = ['-R', String(rate), '-c', String(CONNECTIONS), '-d', String(seconds), '-w', '2', '-m', 'POST'];
    args.push('-b', bodyFile, '-H', 'Content-Type: application/json', HOST, String(port), '/v1/decisions');
    const p = spawn(olgen!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('OLJSON '));
      if (!line) fail(new Error(`olgen: ${out}`));
      else ok(JSON.parse(line.slice(7)) as OlgenResult);
    });
  });
}

/** Runs `run` while `change` repeats every `everyMs`. */
async function changing<T>(run: Promise<T>, change: () => Promise<unknown>, everyMs: number) {
  let done = false;
  let changes = 0;
  const loop = (async () => {
    while (!done) {
      const t0 = performance.now();
      await change();
      changes++;
      await sleep(Math.max(0, everyMs - (performance.now() - t0)));
    }
  })();
  const result = await run;
  done = true;
  await loop;
  return { result, changes };
}

const num = (x: number) => Math.round(x).toLocaleString('en-US');
const ms = (us: number) => (us / 1000).toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---------------------------------------------------------------- run
const servers = [
  { name: '1 process', workers: 1, port: 0, call: undefined as unknown as Call, lineItems: [] as string[] },
  { name: '2 workers', workers: 2, port: 0, call: undefined as unknown as Call, lineItems: [] as string[] },
];
for (const s of servers) {
  s.port = await startMarquee(s.workers);
  s.call = await signIn(s.port);
}
const t0 = performance.now();
await Promise.all(servers.map(async (s) => (s.lineItems = await createNetwork(s.call, LINE_ITEMS))));
console.log(
  `network: demo data + ${LINE_ITEMS} line items in each, created in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
const { items: placements } = await servers[0]!.call<{ items: Placement[] }>('GET', '/placements?limit=100');
const { items: placements2 } = await servers[1]!.call<{ items: Placement[] }>('GET', '/placements?limit=100');
const scripts = [placements, placements2].map((ps, i) => {
  const lua = bodies(ps)
    .map((b) => `[==[${b}]==]`)
    .join(',\n');
  const file = join(work, `bodies-${i}.lua`);
  writeFileSync(
    file,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal bodies = {\n${lua}\n}\n` +
      'local i = 0\nrequest = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n' +
      'done = function(summary, latency, requests)\n' +
      '  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"us\\":%d,\\"non2xx\\":%d}\\n", summary.requests, summary.duration, summary.errors.status))\nend\n',
  );
  return file;
});
const bodyFiles = [placements, placements2].map((ps, i) => {
  const file = join(work, `body-${i}.json`);
  writeFileSync(file, bodies(ps)[0]!);
  return file;
});
await sleep(2000); // the snapshots catch up with the last changes
for (const [i, s] of servers.entries()) await runWrk(s.port, 3, scripts[i]!); // warm-up

const peak: number[][] = [[], []];
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, s] of servers.entries()) peak[i]!.push(await runWrk(s.port, SECONDS, scripts[i]!));
  console.log(
    `peak round ${round + 1}: 1 process ${num(peak[0]!.at(-1)!)} decisions/s, 2 workers ${num(peak[1]!.at(-1)!)} decisions/s, ` +
      `ratio ${(peak[1]!.at(-1)! / peak[0]!.at(-1)!).toFixed(2)}x`,
  );
}

// The same fixed rate for both: half the single process's peak (or BENCH_RATE).
const rate = Number(process.env.BENCH_RATE ?? Math.round(median(peak[0]!) / 2));
const lat = servers.map(() => ({ quiet: [] as OlgenResult[], bulk: [] as OlgenResult[], changes: 0 }));
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, s] of servers.entries()) {
    const batch = s.lineItems.slice(0, 500);
    let n = 0;
    const bulk = () =>
      s.call('POST', '/line-items/bulk-status', { ids: batch, status: n++ % 2 === 0 ? 'paused' : 'active' });
    lat[i]!.quiet.push(await runOlgen(s.port, rate, SECONDS, bodyFiles[i]!));
    const b = await changing(runOlgen(s.port, rate, SECONDS, bodyFiles[i]!), bulk, 2000);
    lat[i]!.bulk.push(b.result);
    lat[i]!.changes += b.changes;
    await s.call('POST', '/line-items/bulk-status', { ids: batch, status: 'active' });
  }
  const [a, b] = lat;
  console.log(
    `latency round ${round + 1} at ${num(rate)}/s: 1 process quiet p99 ${ms(a!.quiet.at(-1)!.p99_us)} ms, bulk p99 ${ms(a!.bulk.at(-1)!.p99_us)} ms; ` +
      `2 workers quiet p99 ${ms(b!.quiet.at(-1)!.p99_us)} ms, bulk p99 ${ms(b!.bulk.at(-1)!.p99_us)} ms` +
      ` (non-2xx ${a!.bulk.at(-1)!.non2xx}/${b!.bulk.at(-1)!.non2xx})`,
  );
}

const p99 = (xs: OlgenResult[]) => median(xs.map((x) => x.p99_us));
console.log('\nsummary (medians of the rounds)');
console.log(
  `  peak decisions/s: 1 process ${num(median(peak[0]!))}, 2 workers ${num(median(peak[1]!))}: ` +
    `${(median(peak[1]!) / median(peak[0]!)).toFixed(2)}x`,
);
console.log(
  `  p99 at ${num(rate)}/s, quiet: 1 process ${ms(p99(lat[0]!.quiet))} ms, 2 workers ${ms(p99(lat[1]!.quiet))} ms: ` +
    `${(p99(lat[1]!.quiet) / p99(lat[0]!.quiet)).toFixed(2)}x`,
);
console.log(
  `  p99 at ${num(rate)}/s while 500 line items change every 2 s: 1 process ${ms(p99(lat[0]!.bulk))} ms, ` +
    `2 workers ${ms(p99(lat[1]!.bulk))} ms: ${(p99(lat[1]!.bulk) / p99(lat[0]!.bulk)).toFixed(2)}x`,
);
process.exit(0);
