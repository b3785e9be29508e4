import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { type BlobStorage, isSafeBlobKey } from './blob-storage.ts';

/** Blobs as files under one directory (the embedded topology's `<dataDir>/assets/`). */
export class LocalDiskBlobStorage implements BlobStorage {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private pathOf(key: string): string {
    if (!isSafeBlobKey(key)) throw new RangeError(`unsafe blob key: ${JSON.stringify(key)}`);
    const path = resolve(this.root, key);
    // Belt and braces: the key check already forbids it, but never resolve outside the root.
    if (!path.startsWith(this.root + sep)) throw new RangeError(`blob key escapes the root: ${key}`);
    return path;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    if (await this.has(key)) return; // content-addressed: same key, same bytes
    await mkdir(dirname(path), { recursive: true });
    // Atomic: readers see either no file or the whole file, never a partial write.
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, bytes, { flag: 'wx' });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    if (!isSafeBlobKey(key)) return undefined;
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async has(key: string): Promise<boolean> {
    if (!isSafeBlobKey(key)) return false;
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}
