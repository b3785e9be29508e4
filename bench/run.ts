/**
 * `npm run bench -- <name> [args]` runs one benchmark; `npm run bench` lists them. Each prints its figures
 * beside a baseline measured in the same run (see docs/performance.md for the latest figures).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BENCHES: Record<string, { file: string; what: string; node?: string[] }> = {
  selection: {
    file: 'selection.ts',
    what: 'decisions/s at 1k/10k/100k line items: index vs linear scan; snapshot build and heap',
    node: ['--expose-gc'],
  },
  'snapshot-update': {
    file: 'snapshot-update.ts',
    what: 'CPU per single-change snapshot update vs a full rebuild (args: line items, updates)',
  },
  'snapshot-latency': {
    file: 'snapshot-latency.ts',
    what: 'decision p99 through the serving state while it updates, merges and compacts (BENCH_BASE_ROOT: A/B)',
    node: ['--expose-gc'],
  },
  'decisions-http': { file: 'decisions-http.ts', what: 'POST /v1/decisions vs a bare node:http server: peak, p99' },
  cluster: {
    file: 'cluster.ts',
    what: 'npm start as 1 process vs 2 serving workers: peak decisions/s, p99 quiet and under bulk changes',
  },
  'ipc-caps': { file: 'ipc-caps.ts', what: "a cluster worker's caps.load on the IPC wire: objects vs strings" },
  'event-log': { file: 'event-log.ts', what: 'durable batch appends vs a plain write+fsync loop' },
  'tracking-pixel': {
    file: 'tracking-pixel.ts',
    what: 'GET /t/impression (durable) vs a bare node:http GIF; lag to the report',
  },
  'url-signer': {
    file: 'url-signer.ts',
    what: 'tracking token verify: HMAC and verify vs the previous createHmac code',
  },
  'event-codec': {
    file: 'event-codec.ts',
    what: 'event encoding per batch: template + one buffer vs JSON.stringify per event',
  },
  ingest: { file: 'ingest.ts', what: 'batch ingestion events/s (HTTP and service) vs a plain write+fsync loop' },
  'rollup-lag': { file: 'rollup-lag.ts', what: 'rollup consumer throughput and event-to-report lag' },
  'store-list': { file: 'store-list.ts', what: 'paging 100k line items: repository vs raw SQL, both backends' },
  'pglite-thread': {
    file: 'pglite-thread.ts',
    what: "PGlite in this thread vs a worker thread: the main thread's event-loop delay during bulk writes",
  },
  'management-api': { file: 'management-api.ts', what: 'GET /api/v1/line-items over 100k rows vs store list()' },
  simulate: { file: 'simulate.ts', what: 'a day of traffic through pacing, leases and billing (npm run simulate)' },
};

const [name, ...args] = process.argv.slice(2);
const bench = name ? BENCHES[name] : undefined;
if (!bench) {
  if (name) process.stderr.write(`unknown benchmark "${name}"\n\n`);
  process.stdout.write('npm run bench -- <name> [args]\n\n');
  for (const [n, b] of Object.entries(BENCHES)) process.stdout.write(`  ${n.padEnd(16)} ${b.what}\n`);
  process.exit(name ? 2 : 0);
}
const result = spawnSync(
  process.execPath,
  [...(bench.node ?? []), '--import', 'tsx', join(import.meta.dirname, bench.file), ...args],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
