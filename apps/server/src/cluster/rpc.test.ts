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

  it('gathers the items of one tick into one call, answers each caller on its own, in order', async () => {
    const a = new EventEmitter();
    const b = new EventEmitter();
    const sentByA: unknown[] = [];
    // A pipe: what one side sends the other receives a tick later, as a structured clone.
    const wire = (from: unknown[] | undefined, to: EventEmitter) => (m: unknown) => {
      from?.push(m);
      setImmediate(() => to.emit('message', structuredClone(m)));
      return true;
    };
    const left = createRpcChannel(Object.assign(a, { send: wire(sentByA, b), connected: true }));
    const right = createRpcChannel(Object.assign(b, { send: wire(undefined, a), connected: true }));
    const seen: number[] = [];
    right.serveGathered('item', (n: number) => {
      seen.push(n);
      if (n < 0) throw new RangeError(`bad ${n}`);
      return Promise.resolve(n * 10);
    });
    const calls = [left.gather<number>('item', 1), left.gather<number>('item', -2), left.gather<number>('item', 3)];
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 10 });
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 30 });
    expect(seen).toEqual([1, -2, 3]);
    expect(sentByA).toHaveLength(1);
    expect((sentByA[0] as { msgs: unknown[] }).msgs).toHaveLength(1);
    // The next tick opens a new call.
    expect(await left.gather<number>('item', 4)).toBe(40);
    expect(sentByA).toHaveLength(2);
  });
});
