/**
 * A primary whose worker dies while its call is being answered (rpc.test.ts): the answer, and a push after
 * the exit, must fail quietly, not crash the primary. Prints "primary alive" and exits 0 if it survives.
 */
import cluster from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRpcChannel } from '../rpc.ts';

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: 'advanced' });
  const worker = cluster.fork();
  const rpc = createRpcChannel(worker);
  rpc.serve({ slow: async () => sleep(300).then(() => 'late') });
  worker.on('exit', async () => {
    rpc.push('feed', null);
    await sleep(500);
    process.stdout.write('primary alive\n');
    process.exit(0);
  });
} else {
  const rpc = createRpcChannel(process);
  void rpc.call('slow').catch(() => undefined);
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 50);
}
