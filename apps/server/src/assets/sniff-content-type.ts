/**
 * The type of an upload from its first bytes (magic numbers), never from the client's
 * Content-Type header or file name, which an uploader controls.
 */
export type SniffedType =
  | { readonly kind: 'image'; readonly contentType: string; readonly ext: 'png' | 'jpg' | 'gif' | 'webp' }
  | { readonly kind: 'zip'; readonly contentType: 'application/zip'; readonly ext: 'zip' }
  | { readonly kind: 'svg' }
  | { readonly kind: 'unknown' };

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0) =>
  b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const GIF87 = ascii('GIF87a');
const GIF89 = ascii('GIF89a');
const RIFF = ascii('RIFF');
const WEBP = ascii('WEBP');
const ZIP = [0x50, 0x4b, 0x03, 0x04];

export function sniffContentType(bytes: Uint8Array): SniffedType {
  if (startsWith(bytes, PNG)) return { kind: 'image', contentType: 'image/png', ext: 'png' };
  if (startsWith(bytes, JPEG)) return { kind: 'image', contentType: 'image/jpeg', ext: 'jpg' };
  if (startsWith(bytes, GIF87) || startsWith(bytes, GIF89)) {
    return { kind: 'image', contentType: 'image/gif', ext: 'gif' };
  }
  if (startsWith(bytes, RIFF) && startsWith(bytes, WEBP, 8)) {
    return { kind: 'image', contentType: 'image/webp', ext: 'webp' };
  }
  if (startsWith(bytes, ZIP)) return { kind: 'zip', contentType: 'application/zip', ext: 'zip' };
  if (looksLikeSvg(bytes)) return { kind: 'svg' };
  return { kind: 'unknown' };
}

/** SVG is XML text; we only need to recognise it to refuse it with a clear message. */
function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 1024)).toString('utf8').trimStart().toLowerCase();
  return (
    head.startsWith('<svg') || ((head.startsWith('<?xml') || head.startsWith('<!doctype')) && head.includes('<svg'))
  );
}

export const IMAGE_EXT_CONTENT_TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  zip: 'application/zip',
};
