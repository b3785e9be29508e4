import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createStore } from './create-store.ts';
import { describeStoreContract } from './store.contract.ts';

describeStoreContract('PGlite in memory', () => createStore({}));

const dataDir = mkdtempSync(join(tmpdir(), 'marquee-store-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
describeStoreContract('PGlite on disk', () => createStore({ dataDir }), { persistent: true });
