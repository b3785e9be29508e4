import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, servingTopology } from './config.ts';

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('uses the defaults when nothing is set', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe('0.0.0.0');
    expect(c.dataDir).toBe('./data');
    expect(c.publicUrl).toBe('http://localhost:8080');
    expect(c.adminEmail).toBe('admin@localhost');
    expect(c.loadDemoData).toBe(true);
    expect(c.logLevel).toBe('info');
    expect(c.bodyLimitBytes).toBe(1024 * 1024);
    expect(c.uploadLimitBytes).toBe(10 * 1024 * 1024);
    expect(c.sessionTtlSeconds).toBe(8 * 3600);
    expect(c.databaseUrl).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads the number of serving workers (default: one per core; 1 = one process)', () => {
    expect(loadConfig({}).workers).toBe(availableParallelism());
    expect(loadConfig({ MARQUEE_WORKERS: '1' }).workers).toBe(1);
    expect(() => loadConfig({ MARQUEE_WORKERS: 'many' })).toThrow(/MARQUEE_WORKERS/);
  });

  it('runs the embedded store in a worker thread unless MARQUEE_PGLITE_THREAD is false', () => {
    expect(loadConfig({}).pgliteThread).toBe(true);
    expect(loadConfig({ MARQUEE_PGLITE_THREAD: '0' }).pgliteThread).toBe(false);
    expect(() => loadConfig({ MARQUEE_PGLITE_THREAD: 'maybe' })).toThrow(/MARQUEE_PGLITE_THREAD/);
  });

  it('chooses the topology: a cluster past one worker, or as MARQUEE_CLUSTER says', () => {
    const topology = (env: NodeJS.ProcessEnv) => servingTopology(loadConfig(env));
    expect(loadConfig({}).cluster).toBeUndefined();
    expect(topology({ MARQUEE_WORKERS: '1' })).toEqual({ cluster: false, workers: 1 });
    expect(topology({ MARQUEE_WORKERS: '0' })).toEqual({ cluster: false, workers: 1 });
    expect(topology({ MARQUEE_WORKERS: '3' })).toEqual({ cluster: true, workers: 3 });
    // A primary and exactly one serving worker.
    expect(topology({ MARQUEE_WORKERS: '1', MARQUEE_CLUSTER: 'true' })).toEqual({ cluster: true, workers: 1 });
    expect(topology({ MARQUEE_WORKERS: '0', MARQUEE_CLUSTER: 'yes' })).toEqual({ cluster: true, workers: 1 });
    expect(topology({ MARQUEE_WORKERS: '4', MARQUEE_CLUSTER: 'false' })).toEqual({ cluster: false, workers: 1 });
    expect(() => loadConfig({ MARQUEE_CLUSTER: 'maybe' })).toThrow(/MARQUEE_CLUSTER/);
  });

  it('derives the public URL from the port', () => {
    expect(loadConfig({ MARQUEE_PORT: '9001' }).publicUrl).toBe('http://localhost:9001');
  });

  it('reads environment variables with types', () => {
    const c = loadConfig({
      MARQUEE_PORT: '9000',
      MARQUEE_HOST: '127.0.0.1',
      MARQUEE_DATA_DIR: '/var/lib/marquee',
      MARQUEE_DATABASE_URL: 'postgres://u@db:5432/marquee',
      MARQUEE_PUBLIC_URL: 'https://ads.example.com/',
      MARQUEE_ADMIN_EMAIL: 'Ops@Example.com',
      MARQUEE_ADMIN_PASSWORD: 'correct horse battery',
      MARQUEE_DEMO_DATA: 'false',
      MARQUEE_LOG_LEVEL: 'debug',
      MARQUEE_SECURE_COOKIES: '1',
    });
    expect(c).toMatchObject({
      port: 9000,
      host: '127.0.0.1',
      dataDir: '/var/lib/marquee',
      databaseUrl: 'postgres://u@db:5432/marquee',
      publicUrl: 'https://ads.example.com',
      adminEmail: 'ops@example.com',
      adminPassword: 'correct horse battery',
      loadDemoData: false,
      logLevel: 'debug',
      secureCookies: true,
    });
  });

  it('layers defaults < file < env < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mq-config-'));
    const file = join(dir, 'marquee.json');
    writeFileSync(file, JSON.stringify({ port: 7000, host: '10.0.0.1', logLevel: 'warn' }));
    const c = loadConfig({ MARQUEE_CONFIG: file, MARQUEE_HOST: '127.0.0.2' }, ['--log-level', 'error']);
    expect(c.port).toBe(7000);
    expect(c.host).toBe('127.0.0.2');
    expect(c.logLevel).toBe('error');
    expect(loadConfig({}, [`--config=${file}`, '--port=7100']).port).toBe(7100);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf(() =>
      loadConfig({
        MARQUEE_PORT: 'eighty',
        MARQUEE_DEMO_DATA: 'maybe',
        MARQUEE_LOG_LEVEL: 'loud',
        MARQUEE_DATABASE_URL: 'mysql://x',
        MARQUEE_SESSION_TTL_SECONDS: '5',
      }),
    );
    expect(problems.length).toBe(5);
    expect(problems.join('\n')).toMatch(/MARQUEE_PORT.*integer/);
    expect(problems.join('\n')).toMatch(/MARQUEE_DEMO_DATA/);
    expect(problems.join('\n')).toMatch(/MARQUEE_LOG_LEVEL.*logLevel/);
    expect(problems.join('\n')).toMatch(/MARQUEE_DATABASE_URL/);
    expect(problems.join('\n')).toMatch(/MARQUEE_SESSION_TTL_SECONDS/);
  });

  it('rejects unknown keys and bad values in the file, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mq-config-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ prot: 1, port: 70000 }));
    const problems = problemsOf(() => loadConfig({ MARQUEE_CONFIG: file }));
    expect(problems.some((p) => p.includes('unknown key "prot"'))).toBe(true);
    expect(problems.some((p) => p.includes(file) && p.includes('port'))).toBe(true);
  });

  it('reports an unreadable or malformed file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mq-config-'));
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ nope');
    expect(problemsOf(() => loadConfig({ MARQUEE_CONFIG: file }))[0]).toContain(file);
    expect(problemsOf(() => loadConfig({ MARQUEE_CONFIG: join(dir, 'missing.json') }))[0]).toContain('missing.json');
  });

  it('rejects unknown flags', () => {
    expect(problemsOf(() => loadConfig({}, ['--prot', '1']))[0]).toContain('--prot');
  });
});
