/**
 * The RPC proxies behave like the ports they stand for: each port's contract suite runs against a proxy whose
 * calls a real child process answers (cluster/testing/port-host.ts), over the same IPC a cluster worker uses.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFrequencyCapStoreContract } from '../../../../packages/counters/src/frequency-cap-store.contract.ts';
import { describeEventLogContract } from '../../../../packages/events/src/event-log.contract.ts';
import { runBudgetLeaseStoreContract } from '../../../../packages/pacing/src/budget-lease-store.contract.ts';
import { describeDeduplicatorContract } from '../tracking/deduplicator.contract.ts';
import { RpcBudgetLeaseStore, RpcDeduplicator, RpcEventLog, RpcFrequencyCapStore } from './port-proxies.ts';
import { createRpcChannel, type RpcChannel, RpcUnavailableError } from './rpc.ts';

let child: ChildProcess | undefined;
let channel: RpcChannel | undefined;
function host(): RpcChannel {
  if (!channel) {
    child = fork(join(import.meta.dirname, 'testing/port-host.ts'), [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: 'inherit',
    });
    channel = createRpcChannel(child);
  }
  return channel;
}
afterAll(() => {
  child?.kill();
});

const T0 = Date.UTC(2025, 0, 1);
describeDeduplicatorContract('over IPC', async () => {
  await host().call('host.reset', 'dedup', T0);
  return { dedup: new RpcDeduplicator(host()), nowMs: T0 };
});

runFrequencyCapStoreContract('over IPC', async () => {
  await host().call('host.reset', 'caps', T0);
  return new RpcFrequencyCapStore(host());
});

runBudgetLeaseStoreContract('over IPC', {
  async create() {
    await host().call('host.reset', 'leases', T0);
    return new RpcBudgetLeaseStore(host());
  },
  // Another worker: another proxy over the same channel to the same store.
  async client() {
    return new RpcBudgetLeaseStore(host());
  },
});

describeEventLogContract('over IPC', async () => {
  await host().call('host.reset', 'log', T0);
  return { open: async () => new RpcEventLog(host()), destroy: async () => {} };
});

describe('RPC channel', () => {
  it('carries the error class across, and fails calls in flight when the other side dies', async () => {
    await expect(host().call('host.throw')).rejects.toBeInstanceOf(RangeError);
    const many = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        host().call<boolean>('dedup.claim', { key: `k${i % 100}`, limit: 1, expiresAtMs: T0 + 60_000 }),
      ),
    );
    expect(many.filter(Boolean).length).toBeGreaterThan(0);
    const exited = new Promise((r) => child!.once('exit', r));
    const inFlight = host()
      .call('log.end')
      .then(
        () => 'answered',
        (err: unknown) => err,
      );
    child!.kill('SIGKILL');
    await exited;
    expect(await inFlight).toBeInstanceOf(RpcUnavailableError);
    await expect(host().call('log.end')).rejects.toBeInstanceOf(RpcUnavailableError);
  });
});
