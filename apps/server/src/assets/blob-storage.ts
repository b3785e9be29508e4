/**
 * Where uploaded asset bytes live. Keys are content addresses: `<sha256>.<ext>` for a single file
 * (an image, an HTML5 bundle's zip) and `<sha256>/<path>` for a file inside an HTML5 bundle.
 * Embedded: LocalDiskBlobStorage under `<dataDir>/assets/`; at scale an S3-compatible adapter.
 */
export interface BlobStorage {
  /** Stores the bytes under `key`; writing the same key twice is harmless (same content, same address). */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The bytes, or undefined when nothing is stored under `key`. */
  get(key: string): Promise<Uint8Array | undefined>;
  has(key: string): Promise<boolean>;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$/;

/**
 * Keys are relative, slash-separated, with no empty, `.` or `..` segment, so no adapter can be
 * tricked into leaving its root (`../../etc/passwd`, absolute paths, backslashes, NUL bytes).
 */
export function isSafeBlobKey(key: string): boolean {
  if (key.length === 0 || key.length > 1024) return false;
  const segments = key.split('/');
  if (segments.length > 32) return false;
  return segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..' && !s.includes('..'));
}
