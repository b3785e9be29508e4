import { Writable } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChildLoggerFactory } from './lazy-request-logger.ts';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, logger: pino({ level }, stream) };
}

async function appWith(level: string) {
  const { lines, logger } = capture(level);
  const app = Fastify({
    loggerInstance: logger,
    childLoggerFactory: lazyChildLoggerFactory,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.get('/quiet', async () => 'ok');
  app.get('/loud', async (request) => {
    request.log.info({ what: 'x' }, 'info line');
    request.log.warn('warn line');
    request.log.child({ extra: 1 }).error('child line');
    return 'ok';
  });
  await app.ready();
  return { app, lines };
}

describe('lazy request logger', () => {
  it('writes what a pino child writes, with the request id, at the enabled levels only', async () => {
    const { app, lines } = await appWith('warn');
    const r = await app.inject({ method: 'GET', url: '/loud' });
    expect(r.statusCode).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => l['msg'])).toEqual(['warn line', 'child line']);
    for (const l of lines) expect(l['reqId']).toBe(lines[0]!['reqId']);
    expect(lines[1]!['extra']).toBe(1);
    await app.close();
  });

  it('logs info lines when info is enabled, and nothing for a request that logs nothing', async () => {
    const { app, lines } = await appWith('info');
    await app.inject({ method: 'GET', url: '/quiet' });
    expect(lines).toEqual([]);
    await app.inject({ method: 'GET', url: '/loud' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines[0]).toMatchObject({ msg: 'info line', what: 'x', level: 30 });
    expect(typeof lines[0]!['reqId']).toBe('string');
    expect(lines).toHaveLength(3);
    await app.close();
  });
});
