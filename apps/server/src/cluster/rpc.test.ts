/**
 * The RPC channel's edge: the other side gone. (The proxies' behaviour is port-proxies.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRpcChannel, RpcUnavailableError } from './rpc.ts';

describe('RPC channel', () => {
  it('a primary answering a worker that has just died does not crash (real cluster)', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'testing/answer-after-death.ts')],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(run.stdout + run.stderr).toContain('primary alive');
    expect(run.status).toBe(0);
  });

  it('does not send on a cluster worker whose channel is closed; the call fails as unavailable', async () => {
    const sent: unknown[] = [];
    const worker = Object.assign(new EventEmitter(), {
      send: (m: unknown) => sent.push(m) > 0,
      isConnected: () => false,
    });
    const rpc = createRpcChannel(worker);
    await expect(rpc.call('anything')).rejects.toBeInstanceOf(RpcUnavailableError);
    expect(sent).toEqual([]);
  });
});
