import { createHash } from 'node:crypto';
import { type Asset, newId } from '@marquee/core';
import type { Store } from '@marquee/store';
import { imageSize } from 'image-size';
import type { ErrorCode } from '../http/errors.ts';
import type { BlobStorage } from './blob-storage.ts';
import { DEFAULT_HTML5_LIMITS, type Html5BundleLimits, readHtml5Bundle } from './html5-bundle.ts';
import { sniffContentType } from './sniff-content-type.ts';

export interface AssetUpload {
  readonly advertiserId: string;
  readonly bytes: Uint8Array;
  /** Optional: when given, must equal the image's real pixel size (HTML5: recorded as the bundle's size). */
  readonly width?: number | undefined;
  readonly height?: number | undefined;
}

export type AssetRefusal = {
  readonly kind: 'refused';
  readonly code: ErrorCode;
  readonly message: string;
  readonly path: string;
  readonly reason: string;
};
export type AssetResult = { readonly kind: 'ok'; readonly asset: Asset; readonly created: boolean } | AssetRefusal;

export interface AssetServiceOptions {
  readonly maxBytes: number;
  readonly html5?: Html5BundleLimits;
  /** Largest accepted width or height in pixels (the creative schema's bound). */
  readonly maxPixels?: number;
}

/** Public path of an asset; callers that need an absolute URL prefix the network's public URL. */
export const assetPath = (sha256: string, kind: Asset['kind'], ext: string) =>
  kind === 'html5' ? `/assets/${sha256}/index.html` : `/assets/${sha256}.${ext}`;

/**
 * Checks an upload (type sniffed from magic bytes, size, pixel dimensions, HTML5 bundle layout),
 * stores its bytes content-addressed (sha256) in the BlobStorage and its metadata in store.assets.
 * The same file uploaded twice for one advertiser returns the first asset. SVG is refused: it is a
 * script-capable document, and sanitising it reliably is a project of its own.
 */
export function createAssetService(store: Store, blobs: BlobStorage, options: AssetServiceOptions) {
  const html5Limits = options.html5 ?? DEFAULT_HTML5_LIMITS;
  const maxPixels = options.maxPixels ?? 4096;

  async function ingest(upload: AssetUpload): Promise<AssetResult> {
    const { bytes } = upload;
    if (bytes.length === 0) return refuse('MQ_ERR_VALIDATION', '/file', 'the file is empty', 'empty');
    if (bytes.length > options.maxBytes) {
      return refuse('MQ_ERR_BODY_TOO_LARGE', '/file', `the file is larger than ${options.maxBytes} bytes`, 'too_large');
    }
    const sniffed = sniffContentType(bytes);
    if (sniffed.kind === 'svg') {
      return refuse(
        'MQ_ERR_UNSUPPORTED_MEDIA_TYPE',
        '/file',
        'SVG images are refused (they can carry scripts); upload PNG, JPEG, GIF or WebP',
        'svg_refused',
      );
    }
    if (sniffed.kind === 'unknown') {
      return refuse(
        'MQ_ERR_UNSUPPORTED_MEDIA_TYPE',
        '/file',
        'unsupported file type: upload a PNG, JPEG, GIF or WebP image, or a zip HTML5 bundle',
        'unsupported_type',
      );
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    let width: number | null;
    let height: number | null;
    let files: ReadonlyMap<string, Uint8Array> | undefined;
    if (sniffed.kind === 'image') {
      let size: { width?: number; height?: number };
      try {
        size = imageSize(bytes);
      } catch {
        return refuse('MQ_ERR_UNPROCESSABLE', '/file', `the file is not a readable ${sniffed.ext} image`, 'corrupt');
      }
      if (!size.width || !size.height) {
        return refuse('MQ_ERR_UNPROCESSABLE', '/file', 'the image has no pixel dimensions', 'corrupt');
      }
      if (size.width > maxPixels || size.height > maxPixels) {
        return refuse(
          'MQ_ERR_UNPROCESSABLE',
          '/file',
          `the image is ${size.width}x${size.height} pixels; at most ${maxPixels}x${maxPixels} is accepted`,
          'too_many_pixels',
        );
      }
      for (const [field, real] of [
        ['width', size.width],
        ['height', size.height],
      ] as const) {
        const claimed = upload[field];
        if (claimed !== undefined && claimed !== real) {
          return refuse(
            'MQ_ERR_UNPROCESSABLE',
            `/${field}`,
            `the image is ${size.width}x${size.height} pixels, but ${field} ${claimed} was given`,
            'dimension_mismatch',
          );
        }
      }
      width = size.width;
      height = size.height;
    } else {
      const bundle = readHtml5Bundle(bytes, html5Limits);
      if (bundle.kind === 'invalid') {
        return refuse(
          bundle.status === 413 ? 'MQ_ERR_BODY_TOO_LARGE' : 'MQ_ERR_UNPROCESSABLE',
          '/file',
          bundle.message,
          bundle.code,
        );
      }
      files = bundle.files;
      width = upload.width ?? null;
      height = upload.height ?? null;
    }

    const existing = await store.assets.findBySha(upload.advertiserId, sha256);
    if (existing) return { kind: 'ok', asset: existing, created: false };

    // Bundle files first, the zip last: the zip's presence means the whole bundle is stored.
    if (files) for (const [path, data] of files) await blobs.put(`${sha256}/${path}`, data);
    await blobs.put(`${sha256}.${sniffed.ext}`, bytes);

    const kind = sniffed.kind === 'image' ? 'image' : 'html5';
    const asset = await store.assets.save({
      id: newId('asset'),
      advertiserId: upload.advertiserId,
      sha256,
      contentType: sniffed.contentType,
      bytes: bytes.length,
      width,
      height,
      kind,
      url: assetPath(sha256, kind, sniffed.ext),
      createdAt: new Date().toISOString(),
    });
    return { kind: 'ok', asset, created: true };
  }

  return { ingest };
}

export type AssetService = ReturnType<typeof createAssetService>;

function refuse(code: ErrorCode, path: string, message: string, reason: string): AssetRefusal {
  return { kind: 'refused', code, message, path, reason };
}
