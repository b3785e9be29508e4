/**
 * Creative assets: upload (multipart) and metadata under /api/v1/assets (`assetRoutes`), and the
 * public, immutable, content-addressed files under /assets (`assetFileRoutes`, mounted WITHOUT the
 * /api/v1 prefix by the composition root) that ads load from publisher pages.
 */
import multipart from '@fastify/multipart';
import { Asset, isId } from '@marquee/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { createAssetService } from '../../assets/asset-service.ts';
import type { BlobStorage } from '../../assets/blob-storage.ts';
import { createBlobStorage } from '../../assets/create-blob-storage.ts';
import { bundleFileContentType } from '../../assets/html5-bundle.ts';
import { IMAGE_EXT_CONTENT_TYPES } from '../../assets/sniff-content-type.ts';
import type { AppDeps, RouteModule } from '../../deps.ts';
import { principalOf, requireAuth, requireWrite } from '../auth/guards.ts';
import { MarqueeError } from '../errors.ts';
import { AUTHENTICATED, ErrorResponse, PageOf, PUBLIC } from '../schemas.ts';

const blobsOf = (deps: AppDeps): BlobStorage => deps.blobs ?? createBlobStorage(deps.config);
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const tags = ['Assets'];

/** Assets are advertiser-side rows: publisher users get 403 before any lookup. */
async function advertiserSide(request: FastifyRequest): Promise<void> {
  const p = principalOf(request);
  if (p.scope.kind === 'tenant' && p.scope.advertiserIds.length === 0) {
    throw new MarqueeError('MQ_ERR_FORBIDDEN', 'Your role has no access to assets');
  }
}

function ownAdvertiser(request: FastifyRequest, advertiserId: string, path: string): void {
  const scope = principalOf(request).scope;
  if (scope.kind === 'tenant' && !scope.advertiserIds.includes(advertiserId)) {
    throw new MarqueeError('MQ_ERR_FORBIDDEN', 'Not one of your advertisers', [
      { path, message: 'is not one of your advertisers', code: 'forbidden' },
    ]);
  }
}

const FIELD_LIMIT = 64;

export const assetRoutes: RouteModule = async (app, deps) => {
  const { store, config } = deps;
  const service = createAssetService(store, blobsOf(deps), { maxBytes: config.uploadLimitBytes });

  if (!app.hasContentTypeParser('multipart/form-data')) {
    await app.register(multipart, {
      limits: {
        fileSize: config.uploadLimitBytes,
        files: 1,
        fields: 8,
        fieldSize: FIELD_LIMIT,
        parts: 10,
        headerPairs: 100,
      },
    });
  }

  app.post(
    '/assets',
    {
      preHandler: [requireAuth, requireWrite, advertiserSide],
      schema: {
        summary: 'Upload an image or an HTML5 bundle',
        description:
          'multipart/form-data with the fields `advertiserId` (required), `file` (required) and optional `width` ' +
          'and `height`. Images: PNG, JPEG, GIF or WebP, recognised by their bytes (the Content-Type sent is ' +
          'ignored); SVG is refused. `width`/`height`, when sent, must equal the real pixel size (422). ' +
          'HTML5 bundles: a zip with index.html at its root, no path traversal, bounded unpacked size. ' +
          `Larger than the upload limit: 413. The same file uploaded twice returns the first asset (200).`,
        tags,
        security: AUTHENTICATED,
        consumes: ['multipart/form-data'],
        response: { 200: Asset, 201: Asset, ...errors },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) {
        throw new MarqueeError('MQ_ERR_UNSUPPORTED_MEDIA_TYPE', 'Send multipart/form-data with a `file` field');
      }
      const fields: Record<string, string> = {};
      let file: Buffer | undefined;
      try {
        for await (const part of request.parts()) {
          if (part.type === 'file') {
            if (part.fieldname !== 'file') {
              part.file.resume();
              throw badField(`/${part.fieldname}`, 'unexpected file field; send the file as `file`');
            }
            file = await part.toBuffer();
          } else {
            if (part.valueTruncated || part.fieldnameTruncated) throw badField(`/${part.fieldname}`, 'is too long');
            if (!['advertiserId', 'width', 'height'].includes(part.fieldname)) {
              throw badField(`/${part.fieldname}`, 'is not an allowed field');
            }
            fields[part.fieldname] = String(part.value);
          }
        }
      } catch (err) {
        throw multipartError(err);
      }
      const advertiserId = fields.advertiserId;
      if (!advertiserId) throw badField('/advertiserId', 'is required');
      if (!isId(advertiserId)) throw badField('/advertiserId', 'is not a valid id');
      if (!file) throw badField('/file', 'is required');
      const width = dimension(fields.width, '/width');
      const height = dimension(fields.height, '/height');
      ownAdvertiser(request, advertiserId, '/advertiserId');
      if (!(await store.repos.advertiser.get(advertiserId, principalOf(request).scope))) {
        throw new MarqueeError('MQ_ERR_UNPROCESSABLE', 'No such advertiser', [
          { path: '/advertiserId', message: 'no such advertiser', code: 'not_found' },
        ]);
      }
      const result = await service.ingest({ advertiserId, bytes: file, width, height });
      if (result.kind === 'refused') {
        throw new MarqueeError(result.code, result.message, [
          { path: result.path, message: result.message, code: result.reason },
        ]);
      }
      reply.code(result.created ? 201 : 200);
      return result.asset;
    },
  );

  app.get(
    '/assets',
    {
      preHandler: [requireAuth, advertiserSide],
      schema: {
        summary: 'List uploaded assets',
        description:
          'Newest last, keyset-paginated. Advertiser users see their own advertisers only; `advertiserId` is ' +
          'required when you have several.',
        tags,
        security: AUTHENTICATED,
        querystring: Type.Object(
          {
            advertiserId: Type.Optional(Type.String({ maxLength: 64 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Asset), ...errors },
      },
    },
    async (request) => {
      const q = request.query as { advertiserId?: string; limit?: number; cursor?: string };
      const scope = principalOf(request).scope;
      let advertiserId: string | null = q.advertiserId ?? null;
      if (advertiserId !== null) {
        if (!isId(advertiserId)) throw badField('/advertiserId', 'is not a valid id');
        ownAdvertiser(request, advertiserId, '/advertiserId');
      } else if (scope.kind === 'tenant') {
        if (scope.advertiserIds.length !== 1) throw badField('/advertiserId', 'is required when you have several');
        advertiserId = scope.advertiserIds[0]!;
      }
      try {
        return await store.assets.list(advertiserId, q.limit ?? 50, q.cursor);
      } catch (err) {
        if ((err as { code?: string }).code === 'MQ_ERR_BAD_CURSOR') throw new MarqueeError('MQ_ERR_BAD_CURSOR');
        throw err;
      }
    },
  );

  app.get(
    '/assets/:id',
    {
      preHandler: [requireAuth, advertiserSide],
      schema: {
        summary: 'Get an asset',
        tags,
        security: AUTHENTICATED,
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: Asset, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      if (!isId(id) || !id.startsWith('ast_')) throw new MarqueeError('MQ_ERR_BAD_ID', 'Not an asset id (ast_...)');
      const asset = await store.assets.get(id);
      const scope = principalOf(request).scope;
      // Another tenant's asset is "not found", never "forbidden": its existence is not ours to reveal.
      if (!asset || (scope.kind === 'tenant' && !scope.advertiserIds.includes(asset.advertiserId))) {
        throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such asset');
      }
      return asset;
    },
  );
};

const SHA = /^[0-9a-f]{64}$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Public asset files, mounted at the root (not under /api/v1). Content-addressed, so cached forever.
 * Served cross-origin (ads load them from publisher pages); HTML5 bundle documents are sandboxed by
 * CSP so they run with an opaque origin even when opened directly, never as this server's origin.
 */
export const assetFileRoutes: RouteModule = async (app, deps) => {
  const blobs = blobsOf(deps);
  const hide = { hide: true } as const;

  app.get('/assets/:file', { schema: { ...hide, security: PUBLIC } }, async (request, reply) => {
    const { file } = request.params as { file: string };
    const m = /^([0-9a-f]{64})\.(png|jpg|gif|webp|zip)$/.exec(file);
    if (!m) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such asset file');
    const bytes = await blobs.get(file);
    if (!bytes) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such asset file');
    return sendFile(reply, bytes, IMAGE_EXT_CONTENT_TYPES[m[2]!]!, false);
  });

  app.get('/assets/:sha/*', { schema: { ...hide, security: PUBLIC } }, async (request, reply) => {
    const { sha, '*': path } = request.params as { sha: string; '*': string };
    if (!SHA.test(sha) || !path) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such asset file');
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such asset file');
    }
    const bytes = await blobs.get(`${sha}/${decoded}`);
    if (!bytes) throw new MarqueeError('MQ_ERR_NOT_FOUND', 'No such asset file');
    return sendFile(reply, bytes, bundleFileContentType(decoded), true);
  });
};

function sendFile(reply: FastifyReply, bytes: Uint8Array, contentType: string, bundle: boolean): FastifyReply {
  reply
    .header('content-type', contentType)
    .header('cache-control', IMMUTABLE)
    .header('x-content-type-options', 'nosniff')
    // Ads are loaded by publisher pages on other sites: allow cross-origin embedding of these files.
    .header('cross-origin-resource-policy', 'cross-origin');
  if (bundle) {
    // HTML5 creatives are framed by publisher pages and run their own scripts, in a sandbox.
    reply.removeHeader('x-frame-options');
    reply.header(
      'content-security-policy',
      "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox; default-src * data: blob: 'unsafe-inline' 'unsafe-eval'",
    );
  } else {
    reply.header('content-security-policy', "default-src 'none'; sandbox");
  }
  return reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

function badField(path: string, message: string): MarqueeError {
  return new MarqueeError('MQ_ERR_VALIDATION', `${path.slice(1)} ${message}`, [{ path, message, code: 'multipart' }]);
}

function dimension(value: string | undefined, path: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1) throw badField(path, 'must be a whole number of pixels');
  return Number(value);
}

/** @fastify/multipart reports limits with its own codes; map them onto the catalogue. */
function multipartError(err: unknown): unknown {
  if (err instanceof MarqueeError) return err;
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return new MarqueeError('MQ_ERR_BODY_TOO_LARGE', 'The file is larger than the upload limit');
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new MarqueeError('MQ_ERR_VALIDATION', 'Too many parts: send advertiserId, width, height and one file');
    case 'ERR_STREAM_PREMATURE_CLOSE': // the body ended before the closing boundary
      return new MarqueeError('MQ_ERR_VALIDATION', 'Malformed multipart body: it ends before its closing boundary');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new MarqueeError('MQ_ERR_UNSUPPORTED_MEDIA_TYPE', 'Send multipart/form-data');
    default:
      // Truncated or malformed multipart bodies come from busboy as plain Errors.
      if (err instanceof Error && !code) return new MarqueeError('MQ_ERR_VALIDATION', 'Malformed multipart body');
      return err;
  }
}
