/**
 * The real program, as `npm start` runs it: first start (admin + demo data), serving, and a graceful
 * SIGTERM that finishes the requests in flight and exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'marquee-main-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  stdout(): string;
  exited: Promise<number | null>;
}

async function start(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      MARQUEE_DATA_DIR: dataDir,
      MARQUEE_PORT: String(port),
      MARQUEE_HOST: '127.0.0.1',
      MARQUEE_LOG_LEVEL: 'warn',
      // The default 10 s bound, on a CI machine running the whole suite on 2 cores, can cut a drain short: the
      // test is about what a drain does, not how fast (a timeout would show as "shutdown timed out" and exit 1).
      MARQUEE_SHUTDOWN_TIMEOUT_MS: '60000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Wait for /health 200 (the process prints its URL once listening).
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${out}`);
    const ok = await fetch(`http://127.0.0.1:${port}/health`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) break;
    // npm start's default: a primary and a worker per core, three processes to boot on a 2-core machine.
    if (i > 1800) throw new Error(`server did not become healthy:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port, stdout: () => out, exited };
}

/** A login whose body is only half sent: in flight until `finish()` sends the rest. */
async function halfSentLogin(port: number, email: string, password: string) {
  const body = JSON.stringify({ email, password });
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let response = '';
  socket.on('data', (chunk: Buffer) => {
    response += chunk.toString();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const half = Math.floor(body.length / 2);
  socket.write(
    `POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
  );
  return {
    async finish(): Promise<string> {
      socket.write(body.slice(half));
      await closed;
      return response;
    },
  };
}

/** GET on a connection of its own (no agent, no keep-alive pool); resolves the status code. */
function freshGet(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

describe('main (the real process)', () => {
  it('first start prints the admin password once, serves, and SIGTERM finishes requests in flight', async () => {
    // One process: with serving workers, the primary hands accepted connections to a worker over IPC, so
    // a connection the test opened may still be on its way to a worker when the signal lands (then it is
    // closed, as a single server closes its accept backlog). cluster.test.ts drains the workers under load;
    // the second start below stops a default (primary + workers) process.
    const first = await start({ MARQUEE_DEMO_DATA: 'true', MARQUEE_WORKERS: '1' });
    const out = first.stdout();
    expect(out).toContain(`Marquee is running at http://127.0.0.1:${first.port} — sign in as admin@localhost`);
    const password = /with the password:\s+(\S+)/.exec(out)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);

    const inFlight = await Promise.all(
      Array.from({ length: 5 }, () => halfSentLogin(first.port, 'admin@localhost', password!)),
    );
    // A full round trip on a NEW connection after the partial requests were written: connections are
    // accepted in order, so by then the server has accepted them and read their headers: they are in
    // flight, not waiting in the kernel's accept queue. (A pooled keep-alive connection would not prove it.)
    expect(await freshGet(first.port, '/ready')).toBe(200);

    first.child.kill('SIGTERM');
    // Wait until the server has stopped accepting connections: shutdown has begun with the logins unfinished.
    for (;;) {
      const refused = await fetch(`http://127.0.0.1:${first.port}/health`)
        .then(() => false)
        .catch(() => true);
      if (refused) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(first.child.exitCode).toBeNull();
    const responses = await Promise.all(inFlight.map((r) => r.finish()));
    for (const response of responses) {
      expect(response).toMatch(/^HTTP\/1\.1 200 /);
      expect(response).toContain('marquee_session=');
    }
    expect(await first.exited, first.stdout()).toBe(0);
  });

  it('a second start on the same data keeps the admin and prints no password; SIGINT exits 0', async () => {
    const second = await start({});
    expect(second.stdout()).not.toContain('with the password');
    expect(second.stdout()).toContain('Marquee is running at');
    second.child.kill('SIGINT');
    expect(await second.exited, second.stdout()).toBe(0);
  });
});
