/**
 * Summarises a V8 .cpuprofile (node --cpu-prof, or bench/ingest-profile.ts) by function: self time and total time
 * (self + callees, each function counted once per sample however deep its recursion), in % of samples.
 *
 *   node --import tsx bench/cpuprofile-summary.ts /tmp/ingest.cpuprofile [top=40] [lastSeconds] [skipLastSeconds]
 *
 * With lastSeconds only the samples of the profile's last seconds count (e.g. a fixed-rate run after the setup);
 * skipLastSeconds leaves out the end (e.g. the idle time while a bench measured something else).
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: cpuprofile-summary.ts FILE [top]');
const top = Number(process.argv[3] ?? 40);
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;

const lastSeconds = Number(process.argv[4] ?? 0);
if (lastSeconds > 0) {
  // Sample times from the deltas; keep the samples within lastSeconds of the last one.
  const times: number[] = [];
  let t = 0;
  for (const d of p.timeDeltas) {
    t += d;
    times.push(t);
  }
  const to = t - Number(process.argv[5] ?? 0) * 1e6;
  const from = to - lastSeconds * 1e6;
  const kept = p.samples.filter((_, i) => times[i]! >= from && times[i]! <= to);
  p.samples = kept;
}
const ticks = new Map<number, number>();
for (const s of p.samples) ticks.set(s, (ticks.get(s) ?? 0) + 1);
const self = new Map<string, number>();
const total = new Map<string, number>();
for (const [id, t] of ticks) {
  const leaf = name(byId.get(id)!);
  self.set(leaf, (self.get(leaf) ?? 0) + t);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = name(byId.get(cur)!);
    if (seen.has(k)) continue;
    seen.add(k);
    total.set(k, (total.get(k) ?? 0) + t);
  }
}
const pct = (t: number) => ((100 * t) / p.samples.length).toFixed(1).padStart(5);
const print = (title: string, m: Map<string, number>) => {
  console.log(`--- ${title}`);
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);
};
console.log(`${p.samples.length} samples`);
print('self %', self);
print('total %', total);
