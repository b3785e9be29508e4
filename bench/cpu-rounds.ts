/**
 * The harness of the CPU micro-benchmarks (bench/url-signer.ts, bench/event-codec.ts): cases run in interleaved
 * rounds after one warm-up pass, timed in process CPU time (user + system, so other processes on the shared
 * machine weigh less), per item; printed as a Markdown table of medians and minimums, each case against the
 * last case before it whose name contains "baseline".
 */
import os from 'node:os';

/** CPU µs per item of each case, one figure per round. */
export function cpuRounds(cases: Record<string, () => void>, rounds: number, itemsPerCall: number) {
  const times: Record<string, number[]> = {};
  for (const name of Object.keys(cases)) times[name] = [];
  for (const f of Object.values(cases)) f(); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of Object.entries(cases)) {
      const t0 = process.cpuUsage();
      f();
      const d = process.cpuUsage(t0);
      times[name]!.push((d.user + d.system) / itemsPerCall);
    }
  }
  return times;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
}

/** The table: case, µs per `unit` (median), min, and the ratio to the case's baseline. */
export function printCpuTable(times: Record<string, number[]>, unit: string): void {
  const width = Math.max(45, ...Object.keys(times).map((n) => n.length));
  const head = `µs/${unit} (median)`;
  console.log(`| ${'case'.padEnd(width)} | ${head} | min    | vs baseline |`);
  console.log(`| ${'-'.repeat(width)} | ${'-'.repeat(head.length - 1)}: | -----: | ----------: |`);
  let base = 0;
  for (const [name, xs] of Object.entries(times)) {
    const m = median(xs);
    if (name.includes('baseline')) base = m;
    console.log(
      `| ${name.padEnd(width)} | ${m.toFixed(3).padStart(head.length)} | ${Math.min(...xs)
        .toFixed(3)
        .padStart(6)} | ${(base / m).toFixed(2).padStart(10)}x |`,
    );
  }
}
