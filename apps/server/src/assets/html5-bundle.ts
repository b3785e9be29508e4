import { unzipSync } from 'fflate';
import { isSafeBlobKey } from './blob-storage.ts';

export interface Html5BundleLimits {
  /** Total uncompressed size of all files. */
  readonly maxUnpackedBytes: number;
  readonly maxFiles: number;
}

export const DEFAULT_HTML5_LIMITS: Html5BundleLimits = { maxUnpackedBytes: 20 * 1024 * 1024, maxFiles: 500 };

export type Html5BundleResult =
  | { readonly kind: 'ok'; readonly files: ReadonlyMap<string, Uint8Array> }
  | { readonly kind: 'invalid'; readonly code: string; readonly message: string; readonly status: 413 | 422 };

/**
 * Reads an HTML5 creative bundle (a zip with index.html). Refuses path traversal and absolute
 * entries, bundles without index.html, and bundles too large once unpacked (zip bombs): the sizes
 * declared in the zip are checked before anything is inflated, and fflate inflates each entry into
 * a buffer of exactly its declared size, so a lying header cannot make it allocate more.
 */
export function readHtml5Bundle(zip: Uint8Array, limits: Html5BundleLimits = DEFAULT_HTML5_LIMITS): Html5BundleResult {
  let declared = 0;
  let count = 0;
  let refusal: Html5BundleResult | undefined;
  const refuse = (r: Html5BundleResult) => {
    refusal ??= r;
    return false;
  };
  let raw: Record<string, Uint8Array>;
  try {
    raw = unzipSync(zip, {
      filter: (f) => {
        if (refusal) return false;
        if (f.name.endsWith('/') || f.name.startsWith('__MACOSX/')) return false; // directories, Finder metadata
        if (!isSafeEntryName(f.name)) {
          return refuse(invalid('unsafe_path', `unsafe path in bundle: ${JSON.stringify(f.name.slice(0, 200))}`));
        }
        count++;
        declared += f.originalSize;
        if (count > limits.maxFiles) return refuse(invalid('too_many_files', `more than ${limits.maxFiles} files`));
        if (declared > limits.maxUnpackedBytes) {
          return refuse({
            kind: 'invalid',
            code: 'too_large_unpacked',
            message: `bundle is larger than ${limits.maxUnpackedBytes} bytes once unpacked`,
            status: 413,
          });
        }
        return true;
      },
    });
  } catch (err) {
    return invalid('bad_zip', `not a readable zip file (${(err as Error).message})`);
  }
  if (refusal) return refusal;

  const names = Object.keys(raw);
  const prefix = commonFolder(names);
  const files = new Map<string, Uint8Array>();
  let actual = 0;
  for (const name of names) {
    const data = raw[name]!;
    actual += data.length;
    files.set(name.slice(prefix.length), data);
  }
  if (actual > limits.maxUnpackedBytes) {
    return {
      kind: 'invalid',
      code: 'too_large_unpacked',
      message: `bundle is larger than ${limits.maxUnpackedBytes} bytes once unpacked`,
      status: 413,
    };
  }
  if (!files.has('index.html')) {
    return invalid('missing_index', 'an HTML5 bundle needs an index.html at its root');
  }
  return { kind: 'ok', files };
}

function invalid(code: string, message: string): Html5BundleResult {
  return { kind: 'invalid', code, message, status: 422 };
}

function isSafeEntryName(name: string): boolean {
  if (name.includes('\\') || name.includes('\0') || /^[A-Za-z]:/.test(name)) return false;
  return isSafeBlobKey(name);
}

/** Zipping a folder puts everything under "folder/": serve it as if it were the root. */
function commonFolder(names: readonly string[]): string {
  const first = names[0];
  if (!first || names.length === 0) return '';
  const slash = first.indexOf('/');
  if (slash < 0) return '';
  const prefix = first.slice(0, slash + 1);
  return names.every((n) => n.startsWith(prefix)) ? prefix : '';
}

const BUNDLE_CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
};

/** Content type of a file served from a bundle, by its extension; unknown types are served as bytes. */
export function bundleFileContentType(path: string): string {
  const dot = path.lastIndexOf('.');
  const ext = dot >= 0 ? path.slice(dot + 1).toLowerCase() : '';
  return BUNDLE_CONTENT_TYPES[ext] ?? 'application/octet-stream';
}
