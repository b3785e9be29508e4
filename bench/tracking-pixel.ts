/**
 * The impression pixel: `GET /t/impression/<token>` requests/s on a real Marquee process (file event log: every
 * answer waits for its event's fdatasync, shared by a group commit) beside two baselines, measured with wrk in
 * alternating rounds (issue 4, "Speed"), at several concurrencies (connections held open by wrk):
 *
 *   - bare: a `node:http` server answering the same 43-byte GIF with the same headers (the issue's baseline);
 *   - durable bare: the same server, but each answer waits until a record of its request (timestamp, address,
 *     URL, user agent) is durable: appended to a file by a group commit like Marquee's (one write + one
 *     fdatasync covering every request that arrived while the previous commit was in flight). It shows what the
 *     disk costs, not the goal.
 *
 * Marquee's request mixes:
 *   - distinct: every request a signed token of its own decision (valid, counted: dedup never short-circuits);
 *   - duplicates: 90% of requests replay 100 tokens already counted (recorded as `duplicate`), 10% distinct.
 *
 * Tokens are signed in this process with the key Marquee is started with (MARQUEE_TRACKING_KEYS) and fed to wrk
 * by a Lua script. Goal: Marquee >= 0.6x the bare server.
 *
 *   node --import tsx bench/tracking-pixel.ts   # BENCH_ROUNDS=3 BENCH_SECONDS=8 BENCH_CONNECTIONS=32,256,1024
 *   BENCH_CPU_PROF=/tmp/prof node --import tsx bench/tracking-pixel.ts   # --cpu-prof of the Marquee process
 *   BENCH_ONLY=marquee ...   # skip the baselines (profiling); BENCH_MIXES=distinct to skip the replay mix
 *   BENCH_NODE_ARGS='--max-semi-space-size=64' ...   # extra node flags for the Marquee process
 *   BENCH_BEFORE=/tmp/before ...   # A/B: also a Marquee started from that tree (a copy of the repo at another
 *                                  # commit, with its own node_modules), measured in the same rounds (distinct);
 *                                  # BENCH_BEFORE_FIRST=1 runs it before this tree's Marquee in each round;
 *                                  # BENCH_BEFORE_NODE_ARGS='...': its node flags (default BENCH_NODE_ARGS)
 *   BENCH_THREADS=1 ...   # per round: p99, CPU µs per hit of each server thread, fdatasync and pwrite calls/s (perf)
 *
 * Each round's line also prints wrk's p99 and the server's CPU time per answered request (utime + stime of the whole process, from
 * /proc/<pid>/stat, over each wrk run, divided by the requests wrk got answers to; median of the rounds).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type MarqueeProcess, startMarquee } from '../apps/server/src/testing/marquee-process.ts';
import { createTrackingNetwork, report, signIn } from '../apps/server/src/testing/tracking-network.ts';
import { UrlSigner } from '../packages/tracking/src/url-signer.ts';
import { benchClaims } from './bench-claims.ts';
import { processCpuMs, threadCpuMs } from './proc-cpu.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const CONCURRENCIES = (process.env['BENCH_CONNECTIONS'] ?? '32,256,1024').split(',').map(Number);
const ONLY_MARQUEE = process.env['BENCH_ONLY'] === 'marquee';
const MIXES = (process.env['BENCH_MIXES'] ?? 'distinct,duplicates').split(',') as ('distinct' | 'duplicates')[];
const TOKENS = 150_000; // more than a round can use: every distinct request is a new decision

try {
  execFileSync('wrk', ['--version'], { stdio: 'pipe' });
} catch (err) {
  if (!(err as { stdout?: Buffer }).stdout?.toString().includes('wrk')) {
    console.log('SKIP: wrk is not installed (apt-get install -y wrk)');
    process.exit(0);
  }
}

const work = mkdtempSync(join(tmpdir(), 'marquee-bench-pixel-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

const key = randomBytes(32);
// BENCH_CPU_PROF=<dir>: Marquee runs with --cpu-prof there (written when the script stops it).
const CPU_PROF = process.env['BENCH_CPU_PROF'];
const BEFORE = process.env['BENCH_BEFORE'];
const marqueeEnv = (dir: string) => ({
  MARQUEE_DEMO_DATA: 'false',
  MARQUEE_ADMIN_PASSWORD: 'bench-admin-password',
  MARQUEE_RATE_LIMIT_PER_MINUTE: '100000000',
  MARQUEE_TRACKING_KEYS: `bench:${key.toString('base64url')}`,
  MARQUEE_DATA_DIR: join(work, dir),
  MARQUEE_ROLLUPS: 'true',
});
const nodeArgs = [
  ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []),
  ...(process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
];
const marquee = await startMarquee(marqueeEnv('marquee'), 90_000, nodeArgs);
children.push(marquee.child);
const api = await signIn(marquee.url, 'admin@localhost', 'bench-admin-password');
const network = await createTrackingNetwork(api, 2, 0);
// The other tree's own startMarquee: it runs that tree's main.ts (its repo root is where the module lies).
let before: MarqueeProcess | undefined;
let beforeNetwork = network;
if (BEFORE) {
  const mod = (await import(join(BEFORE, 'apps/server/src/testing/marquee-process.ts'))) as {
    startMarquee: typeof startMarquee;
  };
  // BENCH_BEFORE_NODE_ARGS: node flags of the other tree's Marquee instead of BENCH_NODE_ARGS (an A/B of flags).
  const beforeArgs = process.env['BENCH_BEFORE_NODE_ARGS'];
  before = await mod.startMarquee(
    marqueeEnv('before'),
    90_000,
    beforeArgs === undefined
      ? nodeArgs
      : [...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []), ...beforeArgs.split(' ').filter(Boolean)],
  );
  children.push(before.child);
  beforeNetwork = await createTrackingNetwork(
    await signIn(before.url, 'admin@localhost', 'bench-admin-password'),
    2,
    0,
  );
}
const signer = new UrlSigner([{ kid: 'bench', secret: key }]);
const now = Date.now();
const token = (i: number, net = network) => {
  const li = net.lineItems[i % net.lineItems.length]!;
  const ad = { lineItemId: li.id, placementId: li.placementId, priceMicros: Math.floor(li.rateMicros / 1000) };
  return signer.sign(benchClaims({ ...ad, siteId: net.siteId, publisherId: net.publisherId }, i, now));
};

// The bare server: the same GIF and headers as Marquee's pixel answer, nothing else.
const GIF = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';
const BARE = `
const http = require('node:http');
const gif = Buffer.from('${GIF}', 'base64');
const headers = { 'content-type': 'image/gif', 'content-length': gif.length,
  'cache-control': 'no-store, no-cache, max-age=0', pragma: 'no-cache',
  'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' };
http.createServer((req, res) => { req.resume(); res.writeHead(200, headers); res.end(gif); })
  .listen(Number(process.env.BARE_PORT), '127.0.0.1', () => console.log('ready'));
`;
// The durable bare server: the same answer, sent only once a record of the request is durable. Group commit
// as in the file event log (groupCommitMs 0): requests arriving while a write + fdatasync is in flight form
// the next group, committed right after it; a request arriving when the file is idle starts a group on the
// next setImmediate (so the requests parsed in the same event-loop turn share it).
const DURABLE_BARE = `
const http = require('node:http');
const fs = require('node:fs');
const gif = Buffer.from('${GIF}', 'base64');
const headers = { 'content-type': 'image/gif', 'content-length': gif.length,
  'cache-control': 'no-store, no-cache, max-age=0', pragma: 'no-cache',
  'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' };
const fd = fs.openSync(process.env.BARE_FILE, 'w');
let records = [], waiting = [], bytes = 0, position = 0, busy = false, scheduled = false;
function commit() {
  scheduled = false;
  if (busy || waiting.length === 0) return;
  busy = true;
  const group = waiting, buf = Buffer.concat(records, bytes);
  records = []; waiting = []; bytes = 0;
  fs.write(fd, buf, 0, buf.length, position, (err) => {
    if (err) throw err;
    position += buf.length;
    fs.fdatasync(fd, (err) => {
      if (err) throw err;
      for (const res of group) { res.writeHead(200, headers); res.end(gif); }
      busy = false;
      commit();
    });
  });
}
http.createServer((req, res) => {
  req.resume();
  const ua = req.headers['user-agent'] || '';
  const record = Buffer.from(Date.now() + ' ' + req.socket.remoteAddress + ' ' + req.url + ' ' + ua + '\\n');
  records.push(record); waiting.push(res); bytes += record.length;
  if (!busy && !scheduled) { scheduled = true; setImmediate(commit); }
}).listen(Number(process.env.BARE_PORT), '127.0.0.1', () => console.log('ready'));
`;
const pids: Partial<Record<Line, number>> = {};
async function startBare(script: string, file = ''): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, BARE_PORT: String(port), BARE_FILE: file },
  });
  children.push(child);
  await new Promise<void>((r) => child.stdout!.once('data', () => r()));
  return { port, pid: child.pid! };
}
const bare = ONLY_MARQUEE ? { port: 0, pid: 0 } : await startBare(BARE);
const durable = ONLY_MARQUEE ? { port: 0, pid: 0 } : await startBare(DURABLE_BARE, join(work, 'durable-bare.log'));
pids.bare = bare.pid;
pids.durable = durable.pid;
pids.distinct = pids.duplicates = marquee.child.pid!;
if (before) pids.before = before.child.pid!;

// wrk reads its paths from a file: one token per line; each thread walks its own slice.
let nextToken = 0;
function pathsFile(kind: 'distinct' | 'duplicates', count: number, net = network): string {
  const lines: string[] = [];
  const replayed = Array.from({ length: 100 }, (_, i) => token(i, net));
  for (let i = 0; i < count; i++) {
    lines.push(kind === 'duplicates' && i % 10 !== 0 ? replayed[i % 100]! : token(nextToken++, net));
  }
  const file = join(work, `${kind}-${randomBytes(3).toString('hex')}.txt`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
const LUA = join(work, 'pixel.lua');
writeFileSync(
  LUA,
  `
local tokens = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  i = math.random(#tokens)
end
function request()
  i = i + 1
  if i > #tokens then i = 1 end
  return wrk.format("GET", "/t/impression/" .. tokens[i])
end
`,
);

interface WrkResult {
  rps: number;
  /** 99th percentile latency in ms (wrk --latency). */
  p99: number;
  /** Requests answered during the run. */
  requests: number;
  errors: number;
  socketErrors: string;
}
function wrk(port: number, file: string, connections: number, seconds = SECONDS): WrkResult {
  const out = execFileSync(
    'wrk',
    [
      '-t1',
      `-c${connections}`,
      `-d${seconds}s`,
      '--timeout',
      '10s',
      '--latency',
      '-s',
      LUA,
      `http://127.0.0.1:${port}/`,
      '--',
      file,
    ],
    { encoding: 'utf8' },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const p99m = /\n\s+99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = p99m ? Number(p99m[1]) * (p99m[2] === 'us' ? 0.001 : p99m[2] === 's' ? 1000 : 1) : Number.NaN;
  return { rps, p99, requests, errors: non2xx, socketErrors: /Socket errors:[^\n]*/.exec(out)?.[0] ?? '' };
}
const note = (what: string, r: WrkResult) => {
  if (r.errors) console.log(`  (${what}: ${r.errors} non-2xx answers)`);
  if (r.socketErrors) console.log(`  (${what}: ${r.socketErrors})`);
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

type Line = 'bare' | 'durable' | 'distinct' | 'duplicates' | 'before';
const LABEL: Record<Line, string> = {
  bare: 'bare node:http, same GIF',
  durable: 'durable bare: + record, group commit, fdatasync',
  distinct: 'Marquee, distinct decisions (every hit counted)',
  duplicates: 'Marquee, 90% replays (duplicates)',
  before: 'Marquee BENCH_BEFORE tree, distinct',
};
/** CPU seconds (user + system, all threads) a process has used so far. */
const cpuSeconds = (pid: number): number => processCpuMs(pid) / 1000;
// BENCH_BEFORE_FIRST=1: the other tree's round before this tree's (to see whether the order matters).
const beforeFirst = process.env['BENCH_BEFORE_FIRST'] === '1';
const lines: Line[] = [
  ...(ONLY_MARQUEE ? [] : (['bare', 'durable'] as Line[])),
  ...(before && beforeFirst ? (['before'] as Line[]) : []),
  ...MIXES,
  ...(before && !beforeFirst ? (['before'] as Line[]) : []),
];
const portOf = (line: Line) =>
  line === 'bare' ? bare.port : line === 'durable' ? durable.port : line === 'before' ? before!.port : marquee.port;
// Rounds use fresh distinct tokens each time (a new file); the baselines get the duplicate-heavy file (only
// its URLs matter to them, and it is cheap to sign).
const fileFor = (line: Line) =>
  line === 'distinct'
    ? pathsFile('distinct', TOKENS)
    : line === 'before'
      ? pathsFile('distinct', TOKENS, beforeNetwork)
      : pathsFile('duplicates', line === 'duplicates' ? TOKENS : 1000);
const results = new Map<number, Record<Line, number[]>>();
/** CPU µs per answered request, per line and round. */
const cpuPerHit = new Map<number, Record<Line, number[]>>();
const empty = (): Record<Line, number[]> => ({ bare: [], durable: [], distinct: [], duplicates: [], before: [] });
/**
 * BENCH_THREADS=1: per round, CPU µs per hit of each thread of the server, and its fdatasync and pwrite calls per
 * second (perf: a group commit is one pwrite, plus an fdatasync unless the log's file is opened O_DSYNC).
 */
const THREADS = process.env['BENCH_THREADS'] === '1';
const details: string[] = [];
/** "name µs, ..." per answered request between two threadCpuMs readings, largest first. */
function threadBreakdown(before: Map<string, number>, after: Map<string, number>, served: number): string {
  return [...after]
    .map(([name, t]) => [name, ((t - (before.get(name) ?? 0)) / Math.max(1, served)) * 1000] as const)
    .filter(([, us]) => us >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name} ${us.toFixed(0)}`)
    .join(', ');
}
/**
 * Counts a process's fdatasync calls with `perf stat` (syscall tracepoints: needs root or a low
 * perf_event_paranoid) until the returned function is called; {} when perf is not there.
 */
function startSyscallCount(pid: number): () => Promise<{ fdatasync?: number; pwrite?: number }> {
  const out = join(work, `perf-${pid}-${randomBytes(3).toString('hex')}.txt`);
  const events = 'syscalls:sys_enter_fdatasync,syscalls:sys_enter_pwrite64';
  const child = spawn('perf', ['stat', '-x,', '-o', out, '-e', events, '-p', String(pid)], { stdio: 'ignore' });
  child.on('error', () => {});
  return async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGINT');
      await exited;
    }
    try {
      const text = readFileSync(out, 'utf8');
      const count = (name: string) => {
        const m = new RegExp(`^(\\d+),,syscalls:sys_enter_${name}`, 'm').exec(text);
        return m ? Number(m[1]) : undefined;
      };
      return { fdatasync: count('fdatasync'), pwrite: count('pwrite64') };
    } catch {
      return {};
    }
  };
}
console.log(`load average before: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
for (const line of lines) wrk(portOf(line), fileFor(line), 32, 2); // warm-up
for (const connections of CONCURRENCIES) {
  const res = empty();
  const cpu = empty();
  const p99 = empty();
  results.set(connections, res);
  cpuPerHit.set(connections, cpu);
  for (let r = 0; r < ROUNDS; r++) {
    for (const line of lines) {
      const file = fileFor(line);
      const pid = pids[line]!;
      const threads0 = THREADS ? threadCpuMs(pid) : undefined;
      const syscalls = THREADS ? startSyscallCount(pid) : undefined;
      const cpu0 = cpuSeconds(pid);
      const out = wrk(portOf(line), file, connections);
      cpu[line].push(((cpuSeconds(pid) - cpu0) * 1e6) / Math.max(1, out.requests));
      note(`${line}, -c${connections}`, out);
      res[line].push(out.rps);
      p99[line].push(out.p99);
      if (threads0) {
        const calls = await syscalls!();
        const per = (n: number | undefined) => (n === undefined ? '?' : (n / SECONDS).toFixed(0));
        details.push(
          `  ${line} -c${connections}: p99 ${out.p99.toFixed(1)} ms; fdatasync/s ${per(calls.fdatasync)}, ` +
            `pwrite/s ${per(calls.pwrite)}; ` +
            `threads, CPU µs/hit: ${threadBreakdown(threads0, threadCpuMs(pid), out.requests)}`,
        );
      }
    }
    console.log(
      `-c${connections} round ${r + 1}: ${lines.map((l) => `${l} ${fmt(res[l].at(-1)!)} (${cpu[l].at(-1)!.toFixed(1)} µs, p99 ${p99[l].at(-1)!.toFixed(1)} ms)`).join('  ')} req/s (CPU/hit, p99)` +
        `  (load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`,
    );
    for (const d of details.splice(0)) console.log(d);
  }
}
console.log(`\nimpression pixel, wrk -t1, ${ROUNDS}x${SECONDS} s per server and concurrency, medians\n`);
console.log(
  '| connections | server                                          |   req/s | vs bare | vs durable bare | CPU µs/hit | CPU vs bare | goal    |',
);
console.log(
  '| ----------: | ----------------------------------------------- | ------: | ------: | --------------: | ---------: | ----------: | ------- |',
);
for (const [connections, res] of results) {
  const cpu = cpuPerHit.get(connections)!;
  const base = ONLY_MARQUEE ? Number.NaN : median(res.bare);
  const durableBase = ONLY_MARQUEE ? Number.NaN : median(res.durable);
  const baseCpu = ONLY_MARQUEE ? Number.NaN : median(cpu.bare);
  for (const line of lines) {
    const m = median(res[line]);
    const c = median(cpu[line]);
    const goal = line === 'distinct' || line === 'duplicates' ? '>= 0.6x' : '       ';
    console.log(
      `| ${String(connections).padStart(11)} | ${LABEL[line].padEnd(47)} | ${fmt(m).padStart(7)} | ` +
        `${`${(m / base).toFixed(2)}x`.padStart(7)} | ${`${(m / durableBase).toFixed(2)}x`.padStart(15)} | ` +
        `${c.toFixed(1).padStart(10)} | ${`${(c / baseCpu).toFixed(2)}x`.padStart(11)} | ${goal} |`,
    );
  }
}
console.log(`load average after: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
// Lag to the report: the load has just stopped; how long until the last impression is in the report rows
// (the rollup consumer runs in the same process and competed with the load for its core).
const loadEnd = Date.now();
// A keep-alive socket idle during the rounds may have been closed by the server: retry once on a new one.
const retry = async <T>(f: () => Promise<T>): Promise<T> => f().catch(() => f());
const stats = await retry(() => fetch(`${marquee.url}/metrics`).then((r) => r.text()));
const valid = Number(/marquee_tracking_events_total\{kind="impression",verdict="valid"\} (\d+)/.exec(stats)?.[1] ?? 0);
let reported = 0;
while (Date.now() - loadEnd < 300_000) {
  const { totals } = await retry(() => report(api, 'impressions', 'line_item'));
  reported = Number(totals['impressions'] ?? 0);
  if (reported >= valid) break;
  await new Promise((r) => setTimeout(r, 250));
}
console.log(
  `\nlag: ${fmt(valid)} valid impressions stored; the last one reached the reports ${fmt(Date.now() - loadEnd)} ms ` +
    `after the load stopped (${fmt(reported)} reported; goal: under 60,000 ms)`,
);
await marquee.stop();
await before?.stop();
// The bare server child keeps the event loop alive: exit (the exit handler stops it and removes the temp dir).
process.exit(0);
