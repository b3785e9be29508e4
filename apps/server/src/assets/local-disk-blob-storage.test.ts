import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSafeBlobKey } from './blob-storage.ts';
import { LocalDiskBlobStorage } from './local-disk-blob-storage.ts';

describe('LocalDiskBlobStorage', () => {
  let dir: string;
  let blobs: LocalDiskBlobStorage;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marquee-blobs-'));
    blobs = new LocalDiskBlobStorage(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('stores and reads back bytes, including nested bundle paths', async () => {
    const sha = 'a'.repeat(64);
    await blobs.put(`${sha}.png`, Buffer.from('png bytes'));
    await blobs.put(`${sha}/js/app.js`, Buffer.from('console.log(1)'));
    expect(Buffer.from((await blobs.get(`${sha}.png`))!).toString()).toBe('png bytes');
    expect(Buffer.from((await blobs.get(`${sha}/js/app.js`))!).toString()).toBe('console.log(1)');
    expect(await blobs.has(`${sha}.png`)).toBe(true);
    expect(await blobs.get(`${'b'.repeat(64)}.png`)).toBeUndefined();
    expect(await blobs.has(`${sha}`)).toBe(false); // a directory is not a blob
  });

  it('leaves no temporary files behind and keeps the first write of a key', async () => {
    await blobs.put('same.bin', Buffer.from('one'));
    await blobs.put('same.bin', Buffer.from('one'));
    const names = await readdir(dir);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(Buffer.from((await blobs.get('same.bin'))!).toString()).toBe('one');
  });

  it('refuses keys that would leave the root', async () => {
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a\\b', '', 'a//b', '.hidden', 'a/./b', 'x\0y']) {
      expect(isSafeBlobKey(key), key).toBe(false);
      expect(await blobs.get(key)).toBeUndefined();
      await expect(blobs.put(key, Buffer.from('x'))).rejects.toThrow(RangeError);
    }
  });
});
