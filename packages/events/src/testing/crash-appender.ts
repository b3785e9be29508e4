/**
 * Child process of file-event-log.crash.test.ts: opens the log in argv[2] and appends batches of events
 * with ids `<round>-<batch>-<i>` forever, several appends in flight at once, printing `ack <round>-<batch> <n>`
 * after each batch is acknowledged. The parent kills it with SIGKILL at a random moment.
 */
import { encodeEvent } from '../event-codec.ts';
import { createFileEventLog } from '../file-event-log.ts';
import { sampleEvent } from './sample-events.ts';

const [dir, round, seedArg] = process.argv.slice(2);
if (!dir || !round) throw new Error('usage: crash-appender.ts <dir> <round> <seed>');
let seed = Number(seedArg ?? 1) >>> 0 || 1;
const random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};

const log = await createFileEventLog({ dir, segmentBytes: 256 * 1024, groupCommitMs: 1 });
process.stdout.write(`ready ${log.recovery.truncatedBytes}\n`);
let batch = 0;
async function appender(): Promise<never> {
  for (;;) {
    const b = batch++;
    const size = 1 + Math.floor(random() * 400);
    const events = Array.from({ length: size }, (_, i) => encodeEvent(sampleEvent(i, `${round}-${b}`)));
    await log.append(events);
    // Synchronous on pipes: once written, the line survives our SIGKILL.
    process.stdout.write(`ack ${round}-${b} ${size}\n`);
  }
}
await Promise.all([appender(), appender(), appender(), appender()]);
