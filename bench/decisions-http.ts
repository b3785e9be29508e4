/**
 * Decision API over HTTP: `POST /v1/decisions` on ONE serving worker beside a bare `node:http` server doing
 * the same HTTP work (read the body, JSON.parse, answer a fixed body of the size of Marquee's typical
 * response), measured with the same load tools in alternating rounds of one run (issue 3, "Speed and memory").
 *
 *   npm run bench -- decisions-http
 *   BENCH_LINE_ITEMS=1000 BENCH_ROUNDS=3 BENCH_PEAK_SECONDS=10 BENCH_LATENCY_SECONDS=10 npm run bench -- decisions-http
 *   BENCH_TOPOLOGIES=worker BENCH_UPDATES=0 npm run bench -- decisions-http     # the serving worker only, no update runs
 *   BENCH_CPU_PROF=/tmp/prof npm run bench -- decisions-http                    # CPU profiles, peak rounds only
 *   BENCH_RATE=800 BENCH_CPU_PROF=/tmp/prof ...          # no peak rounds: latency runs at 800 req/s, profiled
 *   BENCH_NODE_ARGS=--max-semi-space-size=32 ...         # node flags for Marquee (the workers inherit them)
 *   BENCH_CAPPED=0 npm run bench -- decisions-http      # no frequency-capped line items (default: every 4th)
 *
 * Marquee runs in the topologies of BENCH_TOPOLOGIES (default "worker,process"), each a separate server with
 * the same network, measured in turn in every round beside the same bare server:
 *   worker   `npm start` with MARQUEE_WORKERS=1 MARQUEE_CLUSTER=true: a primary (store, rollups, management API,
 *            shared state) and exactly one serving worker answering /v1/*: the issue's "one worker";
 *   process  `npm start` with MARQUEE_WORKERS=1: everything in one process (the rollup consumer on the serving
 *            thread; PGlite in a worker thread of that process);
 *   worker-pglite-main, process-pglite-main  the same with MARQUEE_PGLITE_THREAD=false: PGlite on the main
 *            thread, as before (the baseline of PGlite's worker thread).
 *
 * 1. Peak throughput: wrk (closed loop, several request bodies cycled by a Lua script) against each server.
 * 2. Latency at a fixed rate of half each topology's median peak: olgen (open loop, coordinated-omission
 *    corrected) against that topology and against the bare server at the same rate, alternating.
 * 3. p99 while the snapshot is being rebuilt under load (every topology in turn, at the first one's fixed rate;
 *    BENCH_UPDATES=0 skips it): olgen while line items are paused and activated through the management API (one
 *    every 100 ms; or 500 at once every 2 s), beside a quiet run.
 *
 * Goals: Marquee >= 0.6x the bare server's req/s; at half of Marquee's peak, Marquee's p99 <= 1.5x the bare p99.
 * The network: the demo data plus BENCH_LINE_ITEMS line items (default 1,000) with realistic targeting, created
 * through the management API so the decision does real work. On a shared 2-core machine the load tool and
 * the servers compete for the cores (in the worker topology the primary works too: it appends each decision's
 * request event and answers cap lookups); absolute figures drift, ratios from alternating rounds are what to quote.
 * The heap of a 100k-line-item snapshot and its rebuild time are printed by bench/selection.ts.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { processCpuMs, threadCpuMs } from './proc-cpu.ts';

const ROOT = resolve(import.meta.dirname, '..');
const LINE_ITEMS = Number(process.env.BENCH_LINE_ITEMS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PEAK_SECONDS = Number(process.env.BENCH_PEAK_SECONDS ?? 10);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Every 4th line item has a frequency cap (default); BENCH_CAPPED=0: none (no decision waits on the cap counters). */
const CAPPED = process.env.BENCH_CAPPED !== '0';
const HOST = '127.0.0.1';
/** A directory: Marquee runs with --cpu-prof there and only the peak rounds run (for finding per-request overheads). */
const CPU_PROF = process.env.BENCH_CPU_PROF;
/**
 * A fixed rate (req/s) for the latency runs instead of half the measured peak: the peak rounds are skipped, and
 * with BENCH_CPU_PROF the profiles cover the latency runs (for finding what makes the tail, not the peak).
 */
const FIXED_RATE = Number(process.env.BENCH_RATE ?? 0);
/** Extra node flags for Marquee (and its forked workers), e.g. BENCH_NODE_ARGS=--max-semi-space-size=32. */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

// ---------------------------------------------------------------- tools

const work = mkdtempSync(join(tmpdir(), 'marquee-bench-http-'));

function findOlgen(): string | undefined {
  const sources = [join(ROOT, '..', 'shared', 'tools', 'olgen.c'), '/work/shared/tools/olgen.c'];
  const source = sources.find((p) => existsSync(p));
  if (!source) return undefined;
  const bin = join(work, 'olgen');
  try {
    execFileSync('gcc', ['-O2', '-o', bin, source, '-lm'], { stdio: 'pipe' });
    return bin;
  } catch {
    return undefined;
  }
}

function findWrk(): string | undefined {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'pipe' });
    return 'wrk';
  } catch (err) {
    // wrk --version exits 1 after printing its version.
    return (err as { stdout?: Buffer }).stdout?.toString().includes('wrk') ? 'wrk' : undefined;
  }
}

const olgen = findOlgen();
const wrk = findWrk();
if (!olgen && !wrk) {
  console.log('SKIP: neither olgen (gcc + ../shared/tools/olgen.c) nor wrk (apt-get install -y wrk) is available');
  process.exit(0);
}
if (!wrk) console.log('(wrk missing: peak throughput is measured with olgen at a rate above saturation)');
if (!olgen) console.log('(olgen missing: the fixed-rate latency and update runs are skipped)');

// ---------------------------------------------------------------- processes

const children = new Set<ChildProcess>();
function stopAll() {
  for (const c of children) c.kill('SIGTERM');
}
process.on('exit', () => {
  stopAll();
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, HOST, () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

async function waitHttp(url: string, child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited with ${child.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up`);
}

function spawnChild(args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): ChildProcess {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: 'pipe' });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  child.stdout!.resume();
  child.on('exit', (code) => {
    children.delete(child);
    if (code && code !== 0 && !child.killed) console.error(`child exited ${code}: ${err}`);
  });
  children.add(child);
  return child;
}

/** How Marquee runs: the topology's environment (docs/operations.md "Workers"). */
const TOPOLOGY_ENV: Record<string, { label: string; env: NodeJS.ProcessEnv }> = {
  // A primary (store, rollups, management API, shared state) and exactly one serving worker: "one worker".
  worker: { label: 'Marquee, 1 serving worker', env: { MARQUEE_WORKERS: '1', MARQUEE_CLUSTER: 'true' } },
  // Everything in one process (the serving path shares its thread with the rollup consumer).
  process: { label: 'Marquee, 1 process', env: { MARQUEE_WORKERS: '1', MARQUEE_CLUSTER: 'false' } },
  // The same with PGlite on the main thread (MARQUEE_PGLITE_THREAD=false, as before 2026-11-27 16:00): the A/B
  // baseline of PGlite's worker thread (docs/performance.md "PGlite off the main thread").
  'worker-pglite-main': {
    label: 'Marquee, 1 serving worker, PGlite on the main thread',
    env: { MARQUEE_WORKERS: '1', MARQUEE_CLUSTER: 'true', MARQUEE_PGLITE_THREAD: 'false' },
  },
  'process-pglite-main': {
    label: 'Marquee, 1 process, PGlite on the main thread',
    env: { MARQUEE_WORKERS: '1', MARQUEE_CLUSTER: 'false', MARQUEE_PGLITE_THREAD: 'false' },
  },
};
/**
 * BENCH_BASE_ROOT=<a copy of another tree, npm ci done>: a topology named `base:<topology>` runs that tree's
 * Marquee, beside this tree's in the same rounds (an interleaved A/B of two code versions).
 */
const BASE_ROOT = process.env.BENCH_BASE_ROOT ? resolve(process.env.BENCH_BASE_ROOT) : undefined;
if (BASE_ROOT) {
  for (const [name, t] of Object.entries(TOPOLOGY_ENV)) {
    TOPOLOGY_ENV[`base:${name}`] = { label: `${t.label} (base ${BASE_ROOT})`, env: t.env };
  }
}
const rootOf = (topology: string) => (topology.startsWith('base:') ? BASE_ROOT! : ROOT);
const TOPOLOGIES = (process.env.BENCH_TOPOLOGIES ?? 'worker,process').split(',').map((t) => t.trim());
for (const t of TOPOLOGIES) {
  if (!TOPOLOGY_ENV[t]) {
    throw new Error(`BENCH_TOPOLOGIES: unknown topology "${t}" (${Object.keys(TOPOLOGY_ENV).join(', ')})`);
  }
}

async function startMarquee(topology: string): Promise<{ port: number; pid: number; servingPid: number }> {
  const port = await freePort();
  const profile = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', resolve(CPU_PROF)] : [];
  const child = spawnChild(
    [...profile, ...NODE_ARGS, '--import', 'tsx', 'apps/server/src/main.ts'],
    {
      MARQUEE_DATA_DIR: mkdtempSync(join(work, 'data-')),
      MARQUEE_PORT: String(port),
      MARQUEE_HOST: HOST,
      MARQUEE_PUBLIC_URL: `http://localhost:${port}`,
      MARQUEE_LOG_LEVEL: 'warn',
      MARQUEE_ADMIN_PASSWORD: 'bench-admin-password',
      // The setup creates a few thousand entities through the API: lift the per-IP limit (the decision route has none).
      MARQUEE_RATE_LIMIT_PER_MINUTE: '10000000',
      ...TOPOLOGY_ENV[topology]!.env,
    },
    rootOf(topology),
  );
  await waitHttp(`http://${HOST}:${port}/health`, child);
  // A serving worker names itself ("slot:pid") in /health; the single process does not.
  const health = (await (await fetch(`http://${HOST}:${port}/health`)).json()) as { worker?: string };
  const servingPid = health.worker ? Number(health.worker.split(':')[1]) : child.pid!;
  return { port, pid: child.pid!, servingPid };
}

/** Reads the whole body, JSON.parse, answers a fixed body: the HTTP work of a decision and nothing else. */
const BARE_SERVER = `
const http = require('node:http');
const body = Buffer.from(process.env.BARE_RESPONSE, 'utf8');
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' };
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try { JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { res.writeHead(400); res.end(); return; }
    res.writeHead(200, headers);
    res.end(body);
  });
}).listen(Number(process.env.BARE_PORT), '${HOST}');
http.createServer((_req, res) => res.end('ok')).listen(Number(process.env.BARE_PORT) + 1, '${HOST}');
`;

async function startBare(response: string): Promise<{ port: number; pid: number }> {
  let port = await freePort();
  // The health listener takes port + 1; find a pair.
  while (!(await freePort().then((p) => p !== port + 1))) port = await freePort();
  const child = spawnChild(['-e', BARE_SERVER], { BARE_PORT: String(port), BARE_RESPONSE: response });
  await waitHttp(`http://${HOST}:${port + 1}/`, child);
  return { port, pid: child.pid! };
}

// ---------------------------------------------------------------- the network

interface Api {
  readonly base: string;
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

async function signIn(port: number): Promise<Api> {
  const base = `http://${HOST}:${port}/api/v1`;
  const login = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@localhost', password: 'bench-admin-password' }),
  });
  if (!login.ok) throw new Error(`login: ${login.status} ${await login.text()}`);
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
  if (!created.ok) throw new Error(`api key: ${created.status} ${await created.text()}`);
  const { secret } = (await created.json()) as { secret: string };
  return {
    base,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const r = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 500)}`);
      return JSON.parse(text) as T;
    },
  };
}

interface Placement {
  id: string;
  siteId: string;
  formats: string[];
  sizes: { w: number; h: number }[];
}

const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'CA', 'NL', 'AU', 'JP', 'IE', 'ES'];
const DEVICES = ['desktop', 'mobile', 'tablet'];
const OSES = ['windows', 'macos', 'ios', 'android', 'linux'];
const BROWSERS = ['chrome', 'safari', 'firefox', 'edge'];
const KEYWORDS = ['travel', 'sport', 'food', 'finance', 'news', 'tech', 'cars', 'fashion', 'health', 'music'];
const SIZES: [number, number][] = [
  [300, 250],
  [728, 90],
  [320, 50],
  [160, 600],
  [300, 600],
];

/** Line items the way traffickers write them: geo, device, OS/browser, keywords and sites, ANDed and ORed. */
function targetingFor(n: number, sites: string[]): unknown {
  const pick = <T>(xs: T[], k: number, salt: number) =>
    Array.from(new Set(Array.from({ length: k }, (_, i) => xs[(n * 7 + salt + i * 3) % xs.length]!)));
  const and: unknown[] = [{ dimension: 'country', values: pick(COUNTRIES, 1 + (n % 3), 1) }];
  if (n % 2 === 0) and.push({ dimension: 'device', values: pick(DEVICES, 1 + (n % 2), 2) });
  if (n % 3 === 0) and.push({ dimension: 'os', values: pick(OSES, 2, 3) });
  if (n % 5 === 0) and.push({ dimension: 'browser', values: pick(BROWSERS, 2, 4) });
  if (n % 4 === 1) and.push({ dimension: 'keyword', values: pick(KEYWORDS, 3, 5) });
  if (n % 6 === 2) and.push({ dimension: 'site', values: pick(sites, 1, 6) });
  if (n % 7 === 3) and.push({ not: { dimension: 'keyword', values: pick(KEYWORDS, 1, 7) } });
  if (n % 10 === 4)
    and.push({
      or: [
        { dimension: 'device', values: ['mobile'] },
        { dimension: 'os', values: ['macos'] },
      ],
    });
  return { and };
}

async function createNetwork(api: Api, lineItems: number): Promise<string[]> {
  const { items: placements } = await api.call<{ items: Placement[] }>('GET', '/placements?limit=100');
  const sites = [...new Set(placements.map((p) => p.siteId))];
  const advertisers = Math.max(1, Math.min(20, Math.ceil(lineItems / 50)));
  const owners: { campaignId: string; creatives: string[] }[] = [];
  for (let a = 0; a < advertisers; a++) {
    const adv = await api.call<{ id: string }>('POST', '/advertisers', { name: `Bench advertiser ${a}` });
    const cmp = await api.call<{ id: string }>('POST', '/campaigns', {
      advertiserId: adv.id,
      name: `Bench campaign ${a}`,
      status: 'active',
    });
    const creatives: string[] = [];
    for (const [w, h] of SIZES) {
      const cr = await api.call<{ id: string }>('POST', '/creatives', {
        advertiserId: adv.id,
        name: `Bench ${a} ${w}x${h}`,
        kind: 'html',
        width: w,
        height: h,
        html: `<a href="%%CLICK_URL_UNESC%%" target="_blank"><div style="width:${w}px;height:${h}px;background:#eef">Bench advertiser ${a}</div></a>`,
        clickUrl: `https://advertiser-${a}.example/landing?utm_source=marquee`,
        status: 'active',
        approval: 'approved',
      });
      creatives.push(cr.id);
    }
    owners.push({ campaignId: cmp.id, creatives });
  }
  const ids: string[] = [];
  const create = async (n: number) => {
    const owner = owners[n % owners.length]!;
    const li = await api.call<{ id: string }>('POST', '/line-items', {
      campaignId: owner.campaignId,
      name: `Bench line item ${n}`,
      status: 'active',
      priority: n % 10 === 0 ? 'price_priority' : 'standard',
      rateMicros: 500_000 + ((n * 37_123) % 4_000_000),
      startAt: new Date(Date.now() - 86_400_000).toISOString(),
      targeting: targetingFor(n, sites),
      frequencyCaps: CAPPED && n % 4 === 0 ? [{ count: 5, per: 'day' }] : [],
      creatives: owner.creatives.map((creativeId) => ({ creativeId, weight: 1 })),
    });
    ids.push(li.id);
  };
  // A few in flight at once: the embedded store serialises writes anyway.
  for (let n = 0; n < lineItems; n += 8) {
    await Promise.all(Array.from({ length: Math.min(8, lineItems - n) }, (_, k) => create(n + k)));
  }
  return ids;
}

const IPS = ['8.8.8.8', '81.2.69.160', '212.58.244.20', '193.0.6.139', '217.160.0.1', '1.1.1.1', '133.242.0.1'];
const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0',
];

/** Page views as the tag sends them: one banner placement, a user key, the viewer's IP and UA, page keywords. */
function requestBodies(placements: Placement[], count: number): string[] {
  const banners = placements.filter((p) => p.formats.includes('banner') && p.sizes.length > 0);
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      placements: [{ id: banners[i % banners.length]!.id }],
      user: { key: `user-${(i * 7919) % 100_000}` },
      device: { ip: IPS[i % IPS.length], ua: UAS[(i * 5) % UAS.length] },
      site: { page: `https://news.example/article/${i}`, keywords: [KEYWORDS[i % 10], KEYWORDS[(i * 3 + 1) % 10]] },
    }),
  );
}

// ---------------------------------------------------------------- load

interface OlgenResult {
  rps: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  non2xx: number;
  errors: number;
  issued: number;
  unfinished: number;
  gen_cpu_pct: number;
}

/**
 * olgen's percentiles cover the answered requests only (it drains 5 s past the run): with more than 1% of the
 * measured requests unanswered the p99 is unknown but longer than anything measured, so it counts as infinite.
 */
function settle(r: OlgenResult): OlgenResult {
  if (r.unfinished > 0.01 * r.issued || r.p99_us < 0)
    return {
      ...r,
      p50_us: r.unfinished > 0.5 * r.issued ? Number.POSITIVE_INFINITY : r.p50_us,
      p99_us: Number.POSITIVE_INFINITY,
    };
  return r;
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
    p.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('OLJSON '));
      if (code !== 0 || !line) fail(new Error(`olgen exited ${code}: ${out}`));
      else ok(settle(JSON.parse(line.slice(7)) as OlgenResult));
    });
  });
}

function wrkScript(bodies: string[], name: string): string {
  const file = join(work, `bodies-${name}.lua`);
  const lua = bodies.map((b) => `[==[${b}]==]`).join(',\n');
  writeFileSync(
    file,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal bodies = {\n${lua}\n}\n` +
      'local i = 0\nrequest = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n' +
      'done = function(summary, latency, requests)\n' +
      '  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"us\\":%d,\\"non2xx\\":%d,\\"errors\\":%d}\\n", summary.requests, summary.duration, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\nend\n',
  );
  return file;
}

function runWrk(
  port: number,
  seconds: number,
  script: string,
): Promise<{ rps: number; non2xx: number; errors: number }> {
  return new Promise((ok, fail) => {
    const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, `http://${HOST}:${port}/v1/decisions`];
    const p = spawn(wrk!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
      if (code !== 0 || !line) return fail(new Error(`wrk exited ${code}: ${out}`));
      const r = JSON.parse(line.slice(8)) as { requests: number; us: number; non2xx: number; errors: number };
      ok({ rps: (r.requests * 1e6) / r.us, non2xx: r.non2xx, errors: r.errors });
    });
  });
}

/** Longest event-loop stall since the last scrape (prom-client resets its delay histogram on every scrape). */
async function loopMaxMs(port: number): Promise<number> {
  const text = await (await fetch(`http://${HOST}:${port}/metrics`)).text();
  const m = /^marquee_nodejs_eventloop_lag_max_seconds\s+(\S+)/m.exec(text);
  return m ? Number(m[1]) * 1000 : Number.NaN;
}

/** "name µs, ..." per answered request between two threadCpuMs readings, largest first. */
function threadBreakdown(before: Map<string, number>, after: Map<string, number>, served: number): string {
  return [...after]
    .map(([name, t]) => [name, ((t - (before.get(name) ?? 0)) / served) * 1000] as const)
    .filter(([, us]) => us >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name} ${us.toFixed(0)}`)
    .join(', ');
}
/** BENCH_THREADS=1: each latency line also prints CPU µs per request per thread. */
const THREADS = process.env.BENCH_THREADS === '1';
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const unanswered = (r: OlgenResult) => (r.unfinished ? `, ${r.unfinished} of ${r.issued} unanswered` : '');
const ms = (us: number) => (Number.isFinite(us) ? (us / 1000).toFixed(2) : 'unanswered');
const num = (x: number) => Math.round(x).toLocaleString('en-US');

// ---------------------------------------------------------------- run

interface Target {
  readonly topology: string;
  readonly label: string;
  readonly port: number;
  readonly pid: number;
  readonly servingPid: number;
  readonly api: Api;
  readonly lineItemIds: string[];
  readonly bodies: string[];
  readonly script: string;
  readonly latencyFile: string;
  readonly typical: string;
  readonly fill: number;
}

async function prepare(topology: string): Promise<Target> {
  const marquee = await startMarquee(topology);
  const api = await signIn(marquee.port);
  const t = performance.now();
  const lineItemIds = await createNetwork(api, LINE_ITEMS);
  const { items: placements } = await api.call<{ items: Placement[] }>('GET', '/placements?limit=100');
  const bodies = requestBodies(placements, 64);
  // Let the serving snapshot catch up with the last changes (coalesced every 100 ms).
  await new Promise((r) => setTimeout(r, 1500));
  // What Marquee answers to these bodies: the bare server answers a real response of the median size.
  const answers: { body: string; text: string; filled: boolean }[] = [];
  for (const body of bodies) {
    const r = await fetch(`http://${HOST}:${marquee.port}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    if (r.status !== 200) throw new Error(`decision: ${r.status} ${await r.text()}`);
    const text = await r.text();
    const decision = JSON.parse(text) as { decisions: Record<string, unknown[]> };
    answers.push({ body, text, filled: Object.values(decision.decisions).some((ads) => ads.length > 0) });
  }
  const bySize = [...answers].sort((a, b) => a.text.length - b.text.length);
  const typical = bySize[Math.floor(bySize.length / 2)]!;
  // The fixed-rate runs send one body (olgen takes one): the one whose answer has the median size.
  const latencyFile = join(work, `body-${topology.replace(':', '-')}.json`);
  writeFileSync(latencyFile, typical.body);
  const fill = answers.filter((a) => a.filled).length / bodies.length;
  console.log(
    `${TOPOLOGY_ENV[topology]!.label}: demo data + ${num(lineItemIds.length)} line items created through the API in ` +
      `${((performance.now() - t) / 1000).toFixed(1)} s; fill ${Math.round(fill * 100)}%, median response ` +
      `${typical.text.length} bytes; pid ${marquee.pid}, serving pid ${marquee.servingPid}`,
  );
  return {
    topology,
    label: TOPOLOGY_ENV[topology]!.label,
    ...marquee,
    api,
    lineItemIds,
    bodies,
    script: wrk ? wrkScript(bodies, topology) : '',
    latencyFile,
    typical: typical.text,
    fill,
  };
}

const targets: Target[] = [];
for (const topology of TOPOLOGIES) targets.push(await prepare(topology));
const first = targets[0]!;
const bare = await startBare(first.typical);
const bareFile = join(work, 'body-bare.json');
writeFileSync(bareFile, readFileSync(first.latencyFile));
console.log(
  `bare node:http: pid ${bare.pid}, answers ${first.typical.length} bytes (${first.label}'s median response)`,
);
const bareScript = wrk ? wrkScript(first.bodies, 'bare') : '';
const peakRun = (port: number, seconds: number, script: string, bodyFile: string) =>
  wrk ? runWrk(port, seconds, script) : runOlgen(port, 100_000, seconds, bodyFile);
const load = loadavg();
console.log(`load average at the start: ${load}`);

// Warm all (JIT, caches) before the first measured round.
for (const t of targets) await peakRun(t.port, 3, t.script, t.latencyFile);
await peakRun(bare.port, 3, bareScript, bareFile);

// 1. Peak throughput, alternating rounds.
const peak = new Map<string, number[]>(targets.map((t) => [t.topology, []]));
const barePeak: number[] = [];
for (let round = 0; round < (FIXED_RATE > 0 ? 0 : ROUNDS); round++) {
  const parts: string[] = [];
  const b = await peakRun(bare.port, PEAK_SECONDS, bareScript, bareFile);
  barePeak.push(b.rps);
  for (const t of targets) {
    const m = await peakRun(t.port, PEAK_SECONDS, t.script, t.latencyFile);
    if (m.non2xx || m.errors) console.log(`  ${t.label}: ${m.non2xx} non-2xx, ${m.errors} socket errors`);
    peak.get(t.topology)!.push(m.rps);
    parts.push(`${t.label} ${num(m.rps)} req/s (${(m.rps / b.rps).toFixed(2)}x)`);
  }
  console.log(`peak round ${round + 1}: bare ${num(b.rps)} req/s; ${parts.join('; ')}`);
}
// Each Marquee round beside the bare round just before it.
const peakRatios = (topology: string) => peak.get(topology)!.map((m, i) => m / barePeak[i]!);

// 2. Latency at half of each topology's peak, Marquee and bare alternating at that rate.
const rates = new Map(
  targets.map((t) => [t.topology, FIXED_RATE > 0 ? FIXED_RATE : Math.round(median(peak.get(t.topology)!) / 2)]),
);
const lat = new Map(targets.map((t) => [t.topology, { marquee: [] as OlgenResult[], bare: [] as OlgenResult[] }]));
// 3. p99 while line items change, beside the same fixed rate without changes (every topology, in turn per round).
type Runs<T> = { quiet: T[]; toggle: T[]; bulk: T[] };
const runs = <T>(): Runs<T> => ({ quiet: [], toggle: [], bulk: [] });
const upds = new Map(targets.map((t) => [t.topology, runs<OlgenResult>()]));
const stalls = new Map(targets.map((t) => [t.topology, runs<number>()]));
const UPDATES = process.env.BENCH_UPDATES !== '0';
const LATENCY = olgen && (!CPU_PROF || FIXED_RATE > 0);
if (LATENCY) {
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const rate = rates.get(t.topology)!;
      const cpu0 = [processCpuMs(t.servingPid), processCpuMs(t.pid)];
      const threads0 = THREADS ? [threadCpuMs(t.servingPid), threadCpuMs(t.pid)] : [];
      const m = await runOlgen(t.port, rate, LATENCY_SECONDS, t.latencyFile);
      // CPU per answered request (warm-up and drain included, so a little high): less noisy than latencies.
      const served = m.issued - m.unfinished;
      const perReq = (i: number, pid: number) => (((processCpuMs(pid) - cpu0[i]!) / served) * 1000).toFixed(0);
      const cpu =
        t.servingPid !== t.pid
          ? `CPU µs/request: worker ${perReq(0, t.servingPid)}, primary ${perReq(1, t.pid)}`
          : `CPU µs/request: ${perReq(0, t.pid)}`;
      if (THREADS) {
        const pids = t.servingPid !== t.pid ? [t.servingPid, t.pid] : [t.pid];
        pids.forEach((pid, i) =>
          console.log(
            `  threads of ${pid}, CPU µs/request: ${threadBreakdown(threads0[i]!, threadCpuMs(pid), served)}`,
          ),
        );
      }
      const bareCpu0 = processCpuMs(bare.pid);
      const b = await runOlgen(bare.port, rate, LATENCY_SECONDS, bareFile);
      const bareCpu = (((processCpuMs(bare.pid) - bareCpu0) / (b.issued - b.unfinished)) * 1000).toFixed(0);
      lat.get(t.topology)!.marquee.push(m);
      lat.get(t.topology)!.bare.push(b);
      console.log(
        `latency round ${round + 1}, ${t.label} at ${num(rate)} req/s: p50 ${ms(m.p50_us)} p99 ${ms(m.p99_us)} ms; ` +
          `bare p50 ${ms(b.p50_us)} p99 ${ms(b.p99_us)} ms; p99 ratio ${(m.p99_us / b.p99_us).toFixed(2)}x` +
          (m.non2xx || m.errors ? ` (marquee ${m.non2xx} non-2xx, ${m.errors} errors)` : '') +
          (m.unfinished ? ` (marquee: ${m.unfinished} of ${m.issued} unanswered)` : '') +
          `; ${cpu}; bare ${bareCpu}`,
      );
    }
  }
}
if (LATENCY && UPDATES) {
  const changing = async <T>(run: Promise<T>, change: () => Promise<unknown>, everyMs: number) => {
    let done = false;
    let changes = 0;
    const loop = (async () => {
      while (!done) {
        const t0 = performance.now();
        await change();
        changes++;
        await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (performance.now() - t0))));
      }
    })();
    const result = await run;
    done = true;
    await loop;
    return { result, changes };
  };
  // Each topology at the first one's fixed rate, so their p99 compare.
  const rate = rates.get(first.topology)!;
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const { api, lineItemIds, port, latencyFile } = t;
      const upd = upds.get(t.topology)!;
      const stall = stalls.get(t.topology)!;
      // Pause a line item, activate it 100 ms later, then the next one.
      let toggles = 0;
      const toggleOne = () => {
        const i = toggles++;
        const id = lineItemIds[Math.floor(i / 2) % lineItemIds.length]!;
        return api.call('POST', '/line-items/bulk-status', { ids: [id], status: i % 2 === 0 ? 'paused' : 'active' });
      };
      let bulks = 0;
      const bulkBatch = lineItemIds.slice(0, 500);
      const bulkChange = () =>
        api.call('POST', '/line-items/bulk-status', {
          ids: bulkBatch,
          status: bulks++ % 2 === 0 ? 'paused' : 'active',
        });
      await loopMaxMs(port);
      const quiet = await runOlgen(port, rate, LATENCY_SECONDS, latencyFile);
      stall.quiet.push(await loopMaxMs(port));
      const toggle = await changing(runOlgen(port, rate, LATENCY_SECONDS, latencyFile), toggleOne, 100);
      stall.toggle.push(await loopMaxMs(port));
      const bulk = await changing(runOlgen(port, rate, LATENCY_SECONDS, latencyFile), bulkChange, 2000);
      stall.bulk.push(await loopMaxMs(port));
      upd.quiet.push(quiet);
      upd.toggle.push(toggle.result);
      upd.bulk.push(bulk.result);
      console.log(
        `update round ${round + 1}, ${t.label} at ${num(rate)} req/s: quiet p99 ${ms(quiet.p99_us)} ms (longest loop stall ${stall.quiet.at(-1)!.toFixed(0)} ms${unanswered(quiet)}); ` +
          `1 line item every 100 ms (${toggle.changes} changes) p99 ${ms(toggle.result.p99_us)} ms (stall ${stall.toggle.at(-1)!.toFixed(0)} ms${unanswered(toggle.result)}); ` +
          `500 at once every 2 s (${bulk.changes} changes) p99 ${ms(bulk.result.p99_us)} ms (stall ${stall.bulk.at(-1)!.toFixed(0)} ms${unanswered(bulk.result)})`,
      );
      // Leave the network as it was (all active).
      await api.call('POST', '/line-items/bulk-status', { ids: bulkBatch, status: 'active' });
    }
  }
}
const loadEnd = loadavg();
stopAll();
if (CPU_PROF) {
  // The profiles are written when the processes exit (SIGTERM: graceful shutdown).
  await new Promise((r) => setTimeout(r, 3000));
  const who = targets.map(
    (t) => `${t.label}: serving pid ${t.servingPid}${t.servingPid !== t.pid ? `, primary pid ${t.pid}` : ''}`,
  );
  console.log(`CPU profiles written to ${resolve(CPU_PROF)} (CPU.<date>.<time>.<pid>...; ${who.join('; ')})`);
}

// ---------------------------------------------------------------- report

const rows: string[][] = [];
const names = targets.map((t) => t.label);
const p50 = (xs: OlgenResult[]) => median(xs.map((x) => x.p50_us));
const p99 = (xs: OlgenResult[]) => median(xs.map((x) => x.p99_us));
for (const t of targets) {
  if (FIXED_RATE === 0)
    rows.push([
      `${t.label}: peak req/s (wrk -t1 -c${CONNECTIONS}, ${ROUNDS}x${PEAK_SECONDS} s, median)`,
      num(median(peak.get(t.topology)!)),
      num(median(barePeak)),
      `${median(peakRatios(t.topology)).toFixed(2)}x (rounds ${peakRatios(t.topology)
        .map((r) => r.toFixed(2))
        .join(' / ')})`,
      '>= 0.6x',
    ]);
  if (!LATENCY) continue;
  const l = lat.get(t.topology)!;
  const rate = num(rates.get(t.topology)!);
  const p99Ratios = l.marquee.map((m, i) => m.p99_us / l.bare[i]!.p99_us);
  rows.push([
    `${t.label}: p50 ms at ${rate} req/s (olgen, median of rounds)`,
    ms(p50(l.marquee)),
    ms(p50(l.bare)),
    `${(p50(l.marquee) / p50(l.bare)).toFixed(2)}x`,
    '',
  ]);
  rows.push([
    `${t.label}: p99 ms at ${rate} req/s (olgen, median of rounds)`,
    ms(p99(l.marquee)),
    ms(p99(l.bare)),
    `${median(p99Ratios).toFixed(2)}x (rounds ${p99Ratios.map((r) => r.toFixed(2)).join(' / ')})`,
    '<= 1.5x',
  ]);
}
if (LATENCY && UPDATES) {
  const rate = num(rates.get(first.topology)!);
  const loop = (xs: number[]) => `${median(xs).toFixed(0)} ms`;
  for (const t of targets) {
    const upd = upds.get(t.topology)!;
    const stall = stalls.get(t.topology)!;
    const vsQuiet = (xs: OlgenResult[]) => median(xs.map((x, i) => x.p99_us / upd.quiet[i]!.p99_us));
    rows.push([`${t.label}: p99 ms, quiet (${rate} req/s)`, ms(p99(upd.quiet)), '', '', '']);
    const changeRuns = [
      ['1 line item paused/activated every 100 ms', upd.toggle],
      ['500 line items paused/activated every 2 s', upd.bulk],
    ] as const;
    for (const [what, xs] of changeRuns) {
      rows.push([
        `${t.label}: p99 ms, ${what}`,
        ms(p99(xs)),
        '',
        `${vsQuiet(xs).toFixed(2)}x quiet`,
        'no visible change',
      ]);
    }
    rows.push([
      // /metrics is the primary's in the cluster (forwarded): its loop, not the serving worker's.
      `${t.label}: longest event-loop stall of the process answering /metrics${t.servingPid !== t.pid ? ' (the primary)' : ''}: quiet / 1 per 100 ms / 500 per 2 s`,
      `${loop(stall.quiet)} / ${loop(stall.toggle)} / ${loop(stall.bulk)}`,
      '',
      '',
      '',
    ]);
  }
}
console.log('');
console.log(
  `Decision API over HTTP: ${names.join(' and ')} beside a bare node:http server, demo data + ${num(LINE_ITEMS)} ` +
    `line items${CAPPED ? ' (every 4th frequency-capped)' : ' (none capped)'}, ${ROUNDS} alternating rounds; load average ${load} at the start, ${loadEnd} at the end`,
);
console.log('');
console.log('| measure | Marquee | bare node:http | ratio | goal |');
console.log('| --- | ---: | ---: | ---: | --- |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
process.exit(0);
