/**
 * A child process serving fresh in-process ports over IPC, for the proxies' contract tests
 * (cluster/port-proxies.test.ts): `host.reset(kind, nowMs)` replaces the port of that kind with a new one.
 * Run with `fork(..., { serialization: 'advanced', execArgv: ['--import', 'tsx'] })`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryFrequencyCapStore } from '@marquee/counters';
import { createFileEventLog, type EventLog } from '@marquee/events';
import { InMemoryBudgetLeaseStore } from '@marquee/pacing';
import { InMemoryDeduplicator } from '../../tracking/in-memory-deduplicator.ts';
import { createRpcChannel } from '../rpc.ts';
import { sharedPortHandlers } from '../shared-ports.ts';

const rpc = createRpcChannel(process);
let log: EventLog | undefined;
rpc.serve({
  'host.reset': async (kind: string, nowMs: number) => {
    switch (kind) {
      case 'dedup':
        rpc.serve(sharedPortHandlers({ dedup: new InMemoryDeduplicator({ now: () => nowMs }) }));
        return;
      case 'caps':
        rpc.serve(sharedPortHandlers({ caps: new InMemoryFrequencyCapStore() }));
        return;
      case 'leases':
        rpc.serve(
          sharedPortHandlers({ leases: new InMemoryBudgetLeaseStore({ leaseTtlMs: 30_000, holdMs: 120_000 }) }),
        );
        return;
      case 'log':
        await log?.close();
        log = await createFileEventLog({ dir: mkdtempSync(join(tmpdir(), 'marquee-rpc-log-')), segmentBytes: 1 << 20 });
        rpc.serve(sharedPortHandlers({ log }));
        return;
      default:
        throw new RangeError(`unknown port ${kind}`);
    }
  },
  'host.throw': () => {
    throw new RangeError('amount must be a non-negative integer of micros');
  },
});
process.on('disconnect', () => process.exit(0));
