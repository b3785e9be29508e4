import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createStore } from './create-store.ts';
import { describeStoreContract } from './store.contract.ts';

// PGlite in a worker thread (the default), and once in this thread (the fallback, pgliteThread: false).
describeStoreContract('PGlite in memory', () => createStore({ pgliteThread: true }));
describeStoreContract('PGlite in memory, in this thread', () => createStore({ pgliteThread: false }));

const dataDir = mkdtempSync(join(tmpdir(), 'marquee-store-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
describeStoreContract('PGlite on disk', () => createStore({ dataDir, pgliteThread: true }), { persistent: true });
