/**
 * CPU time of other processes (the servers a bench starts), from /proc: a process's user + system time, and the
 * same per thread. Linux only; NaN (or an empty map) elsewhere or once the process is gone.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime. */
const TICK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime in ms from the text of a /proc stat file (fields 14 and 15, counted after the command name). */
function statCpuMs(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICK;
}

/** CPU ms (user + system, all threads) a process has used so far; NaN when it cannot be read. */
export function processCpuMs(pid: number): number {
  try {
    return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU ms per thread of a process (libuv pool threads, V8 GC helpers, PGlite's worker...). Node names most of its
 * threads "node": the main thread is keyed `<name>(main)`, the others `<name>#<thread id>`.
 */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      out.set(tid === String(pid) ? `${name}(main)` : `${name}#${tid}`, statCpuMs(stat));
    }
  } catch {
    // the process or a thread went away: what was read so far
  }
  return out;
}
