/**
 * Starts the real Marquee program (`node --import tsx apps/server/src/main.ts`) on a free port with a
 * temporary data directory, for end-to-end tests and benchmarks; stops it with SIGTERM.
 * One process unless the caller passes MARQUEE_WORKERS (cluster/cluster.test.ts starts 2 serving workers).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MarqueeProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  stop(): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const REPO_ROOT = join(import.meta.dirname, '../../../..');

export async function startMarquee(
  env: Record<string, string> = {},
  timeoutMs = 90_000,
  /** Extra node flags (benchmarks: `--cpu-prof`). */
  nodeArgs: readonly string[] = [],
): Promise<MarqueeProcess> {
  const port = await freePort();
  const dataDir = env['MARQUEE_DATA_DIR'] ?? mkdtempSync(join(tmpdir(), 'marquee-e2e-'));
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'apps/server/src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      MARQUEE_PORT: String(port),
      MARQUEE_HOST: '127.0.0.1',
      MARQUEE_DATA_DIR: dataDir,
      MARQUEE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      MARQUEE_LOG_LEVEL: 'warn',
      MARQUEE_ADMIN_PASSWORD: 'e2e-admin-password',
      MARQUEE_WORKERS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Marquee exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Marquee did not become healthy in ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    dataDir,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const code = await exited;
      if (!env['MARQUEE_DATA_DIR']) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
