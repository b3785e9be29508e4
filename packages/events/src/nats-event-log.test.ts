import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from './event-codec.ts';
import { describeEventLogContract } from './event-log.contract.ts';
import { EventLogClosedError, EventLogUnavailableError, START_POSITION } from './event-log.ts';
import { createNatsEventLog, type NatsEventLog, type NatsEventLogOptions } from './nats-event-log.ts';
import { sampleEvent } from './testing/sample-events.ts';

const servers = process.env['MARQUEE_TEST_NATS_URL'] ?? '127.0.0.1:4222';
// A stream of its own for every test, so test files (and engineers) never share one.
const fileTag = `${process.pid}_${randomBytes(3).toString('hex')}`;
let counter = 0;
function uniqueStream(): NatsEventLogOptions {
  const n = `${fileTag}_${counter++}`;
  return { servers, stream: `MQ_TEST_EVENTS_${n}`, subject: `mq.test.events.${n}` };
}

describeEventLogContract('NatsEventLog', async () => {
  const options = uniqueStream();
  return {
    open: () => createNatsEventLog(options),
    destroy: async () => {
      const log = await createNatsEventLog(options);
      await log.destroy();
      await log.close();
    },
  };
});

describe('NatsEventLog', () => {
  const logs: NatsEventLog[] = [];
  afterAll(async () => {
    for (const log of logs) {
      await log.destroy().catch(() => {});
      await log.close();
    }
  });

  it('stores a retried event once (Nats-Msg-Id deduplication)', async () => {
    const log = await createNatsEventLog(uniqueStream());
    logs.push(log);
    const events = [0, 1, 2].map((n) => encodeEvent(sampleEvent(n, 'dup')));
    const first = await log.append(events);
    const retry = await log.append(events);
    expect(retry.first).toBe(first.first);
    expect(retry.last).toBe(first.last);
    const read = await log.read(START_POSITION, 100);
    expect(read.events.map((r) => decodeEvent(r.data).eventId)).toEqual(['dup-0', 'dup-1', 'dup-2']);
  });

  it('fails to open when NATS is unreachable', async () => {
    // A port that is certainly closed: bind one, note it, release it.
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    await expect(createNatsEventLog({ servers: `127.0.0.1:${port}` })).rejects.toBeInstanceOf(EventLogUnavailableError);
  });

  it('rejects appends while NATS is away and accepts them again when it is back', async () => {
    // The connection goes through a local TCP relay to the real server, so "NATS down" can be staged
    // without stopping the server other tests share.
    const relay = await startRelay(Number(servers.split(':').at(-1)));
    const log = await createNatsEventLog({
      ...uniqueStream(),
      servers: `127.0.0.1:${relay.port}`,
      publishTimeoutMs: 500,
    });
    logs.push(log);
    await log.append([encodeEvent(sampleEvent(0, 'down'))]);
    await relay.stop();
    await expect(log.append([encodeEvent(sampleEvent(1, 'down'))])).rejects.toBeInstanceOf(EventLogUnavailableError);
    await relay.start();
    // Once the client has reconnected, the retried event is stored (once, whatever the failed attempt left).
    let stored = false;
    for (let attempt = 0; attempt < 40 && !stored; attempt++) {
      stored = await log.append([encodeEvent(sampleEvent(1, 'down'))]).then(
        () => true,
        () => false,
      );
    }
    expect(stored).toBe(true);
    const ids = (await log.read(START_POSITION, 10)).events.map((r) => decodeEvent(r.data).eventId);
    expect(ids).toEqual(['down-0', 'down-1']);
    await log.destroy();
    logs.splice(logs.indexOf(log), 1);
    await log.close();
    await expect(log.append([encodeEvent(sampleEvent(2, 'down'))])).rejects.toBeInstanceOf(EventLogClosedError);
    await relay.stop();
  });
});

/** A TCP relay to 127.0.0.1:targetPort that can be stopped (dropping every connection) and started again. */
async function startRelay(targetPort: number) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const start = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(targetPort, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server!.close(() => resolve());
    });
  await start();
  return {
    get port() {
      return port;
    },
    start,
    stop,
  };
}
