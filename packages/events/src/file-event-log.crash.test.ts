import { spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { decodeEvent } from './event-codec.ts';
import { START_POSITION } from './event-log.ts';
import { createFileEventLog } from './file-event-log.ts';

const appender = fileURLToPath(new URL('./testing/crash-appender.ts', import.meta.url));
const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'marquee-events-crash-'));
afterAll(() => fsp.rm(dir, { recursive: true, force: true }));

// xorshift32 with a fixed seed: the kill moments vary between rounds but the test is repeatable in intent.
const truncations: number[] = [];
let seed = 0x9e3779b9;
const random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};

/** Runs the appender until a random moment after it is ready, kills it with SIGKILL, returns its acks. */
async function runAndKill(round: number): Promise<Map<string, number>> {
  const child = spawn(process.execPath, ['--import', 'tsx', appender, dir, String(round), String(round * 7919 + 1)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acked = new Map<string, number>();
  let buffered = '';
  let killTimer: NodeJS.Timeout | undefined;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('ready')) {
        truncations.push(Number(line.split(' ')[1]));
        killTimer = setTimeout(() => child.kill('SIGKILL'), 20 + Math.floor(random() * 400));
      } else if (line.startsWith('ack ')) {
        const [, batch, size] = line.split(' ');
        acked.set(batch!, Number(size));
      }
    }
  });
  const exit = await new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('close', (_code, signal) => resolve(signal)),
  );
  clearTimeout(killTimer);
  expect(exit).toBe('SIGKILL');
  return acked;
}

it('keeps every acknowledged event exactly once across SIGKILLs at random moments', async () => {
  const acked = new Map<string, number>();
  const rounds = 6;
  for (let round = 0; round < rounds; round++) {
    for (const [batch, size] of await runAndKill(round)) acked.set(batch, size);
  }
  expect(acked.size).toBeGreaterThan(0);
  if (process.env['MARQUEE_DEBUG']) console.log({ batches: acked.size, truncations });

  const log = await createFileEventLog({ dir });
  const seen = new Map<string, number>();
  let position = START_POSITION;
  for (;;) {
    const { events, next } = await log.read(position, 10_000);
    if (events.length === 0) break;
    for (const r of events) {
      const id = decodeEvent(r.data).eventId;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    position = next;
  }
  await log.close();

  // Nothing twice (acknowledged or not), and every acknowledged event present.
  const duplicates = [...seen].filter(([, n]) => n > 1);
  expect(duplicates).toEqual([]);
  const missing: string[] = [];
  for (const [batch, size] of acked) {
    for (let i = 0; i < size; i++) if (!seen.has(`${batch}-${i}`)) missing.push(`${batch}-${i}`);
  }
  expect(missing).toEqual([]);
}, 120_000);
