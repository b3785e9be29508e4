/**
 * What blocks an event loop, from a V8 CPU profile (`--cpu-prof`, e.g. BENCH_CPU_PROF of decisions-http):
 * the profile's samples cut into tasks (runs of non-idle samples), a histogram of their durations, and
 * what the long ones spend their time in (inclusive and self, per function).
 *
 *   node bench/long-tasks.mjs <file.cpuprofile> [minMs=5] [lastSeconds=0 (all)]
 *   EACH=20 node bench/long-tasks.mjs ...     # also one line per task of 20 ms or more: its top project frames
 *
 * On an oversubscribed machine a task also grows while its thread is descheduled: read the long tasks as
 * "where the loop was when it stalled", not as CPU cost.
 */
import { readFileSync } from 'node:fs';

const [file, minArg = '5', lastArg = '0'] = process.argv.slice(2);
if (!file) {
  console.log('usage: node bench/long-tasks.mjs <file.cpuprofile> [minMs=5] [lastSeconds=0]');
  process.exit(1);
}
const prof = JSON.parse(readFileSync(file, 'utf8'));
const minUs = Number(minArg) * 1000;
const fromUs = Number(lastArg) > 0 ? prof.endTime - Number(lastArg) * 1e6 : prof.startTime;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) => {
  const f = n.callFrame;
  return `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(apps|packages)\//, '$1/')}:${f.lineNumber + 1}`;
};
const stacks = new Map();
const stack = (id) => {
  let s = stacks.get(id);
  if (!s) {
    s = [];
    for (let x = id; x !== undefined; x = parent.get(x)) s.push(x);
    stacks.set(id, s);
  }
  return s;
};

const tasks = [];
let current = null;
let t = prof.startTime;
for (let i = 0; i < prof.samples.length; i++) {
  t += prof.timeDeltas[i] ?? 0;
  if (t < fromUs) continue;
  const id = prof.samples[i];
  if (byId.get(id).callFrame.functionName === '(idle)') {
    if (current) tasks.push(current);
    current = null;
    continue;
  }
  const w = prof.timeDeltas[i + 1] ?? 1000;
  current ??= { start: t, dur: 0, samples: [] };
  current.dur += w;
  current.samples.push([id, w]);
}
if (current) tasks.push(current);

const busy = tasks.reduce((a, x) => a + x.dur, 0);
const long = tasks.filter((x) => x.dur >= minUs);
console.log(
  `${file}: ${((prof.endTime - fromUs) / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s, ${tasks.length} tasks, ${long.length} of ${minArg} ms or more`,
);
const bounds = [1, 2, 5, 10, 20, 50, 100, 200, 500, Number.POSITIVE_INFINITY];
const counts = bounds.map(() => 0);
for (const x of tasks) counts[bounds.findIndex((b) => x.dur / 1000 < b)]++;
console.log(`task ms: ${bounds.map((b, i) => `<${b}: ${counts[i]}`).join(', ')}`);
console.log(
  `longest ms: ${long
    .map((x) => x.dur / 1000)
    .sort((a, b) => b - a)
    .slice(0, 20)
    .map((d) => d.toFixed(1))
    .join(' ')}`,
);

const inclusive = new Map();
const self = new Map();
let total = 0;
for (const x of long) {
  for (const [id, w] of x.samples) {
    total += w;
    const seen = new Set();
    for (const sid of stack(id)) {
      const k = name(byId.get(sid));
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + w);
    }
    const k = name(byId.get(id));
    self.set(k, (self.get(k) ?? 0) + w);
  }
}
const top = (m, n) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}% ${k}`)
    .join('\n');
console.log(`\nin the long tasks (${(total / 1e6).toFixed(2)} s), inclusive:\n${top(inclusive, 40)}`);
console.log(`\nself:\n${top(self, 25)}`);

if (process.env.EACH) {
  const eachUs = Number(process.env.EACH) * 1000;
  for (const x of long.filter((task) => task.dur >= eachUs)) {
    const m = new Map();
    for (const [id, w] of x.samples) {
      const seen = new Set();
      for (const sid of stack(id)) {
        const n = byId.get(sid);
        const ours = /\/(apps|packages)\//.test(n.callFrame.url) && !n.callFrame.url.includes('node_modules');
        if (!ours && n.callFrame.functionName !== '(garbage collector)') continue;
        const k = name(n);
        if (seen.has(k)) continue;
        seen.add(k);
        m.set(k, (m.get(k) ?? 0) + w);
      }
    }
    const parts = [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([k, v]) => `${Math.round((100 * v) / x.dur)}% ${k}`);
    console.log(
      `${(x.dur / 1000).toFixed(1)} ms at +${((x.start - prof.startTime) / 1e6).toFixed(1)} s: ${parts.join(' | ')}`,
    );
  }
}
