import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../assets/encode-png.ts';
import { createTestApp, type TestApp, type TestUser } from '../../testing/test-app.ts';

const UPLOAD_LIMIT = 64 * 1024;

/** A multipart/form-data body built by hand, so the test controls every byte (and every lie). */
function form(fields: Record<string, string>, file?: { bytes: Uint8Array; name?: string; type?: string }) {
  const boundary = `----marquee${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${file.name ?? 'upload.bin'}"\r\n` +
          `content-type: ${file.type ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      Buffer.from(file.bytes),
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

// Flat bands compress well, so even a 300x250 image stays far below the test upload limit.
const png = (w: number, h: number, seed = 0) => encodePng(w, h, (x) => [(seed * 37) % 256, (x >> 5) * 20, 90]);

describe('asset routes', () => {
  let t: TestApp;
  let dir: string;
  let advA: string;
  let advB: string;
  let trafficker: TestUser;

  const upload = async (
    fields: Record<string, string>,
    file?: { bytes: Uint8Array; name?: string; type?: string },
    headers = t.admin.headers,
  ) => {
    const { payload, contentType } = form(fields, file);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/assets',
      headers: { ...headers, 'content-type': contentType },
      payload,
    });
    return { status: res.statusCode, body: res.json() };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marquee-assets-'));
    t = await createTestApp({ config: { dataDir: dir, uploadLimitBytes: UPLOAD_LIMIT } });
    const mk = async (name: string) =>
      (
        await t.app.inject({ method: 'POST', url: '/api/v1/advertisers', headers: t.admin.headers, payload: { name } })
      ).json().id as string;
    advA = await mk('Asset A');
    advB = await mk('Asset B');
    trafficker = await t.createUser({ role: 'advertiser', advertiserIds: [advA] });
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores a PNG content-addressed, reads its real size, and serves it immutable', async () => {
    const bytes = png(300, 250);
    // The client claims JPEG; the bytes say PNG, and the bytes win.
    const r = await upload({ advertiserId: advA, width: '300', height: '250' }, { bytes, type: 'image/jpeg' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      advertiserId: advA,
      kind: 'image',
      contentType: 'image/png',
      width: 300,
      height: 250,
    });
    expect(r.body.url).toBe(`/assets/${r.body.sha256}.png`);

    const again = await upload({ advertiserId: advA }, { bytes });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(r.body.id);

    const file = await t.app.inject({ method: 'GET', url: r.body.url });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('image/png');
    expect(file.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    expect(Buffer.compare(file.rawPayload, bytes)).toBe(0);
    expect((await t.app.inject({ method: 'GET', url: `/assets/${'0'.repeat(64)}.png` })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/assets/..%2F..%2Fetc%2Fpasswd' })).statusCode).toBe(404);

    const meta = await t.app.inject({ method: 'GET', url: `/api/v1/assets/${r.body.id}`, headers: trafficker.headers });
    expect(meta.json()).toEqual(r.body);
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/assets', headers: trafficker.headers });
    expect(list.json().items.map((a: { id: string }) => a.id)).toEqual([r.body.id]);
  });

  it('refuses dimensions that do not match the image, with a clear message', async () => {
    const r = await upload({ advertiserId: advA, width: '728', height: '90' }, { bytes: png(300, 250, 1) });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('MQ_ERR_UNPROCESSABLE');
    expect(r.body.message).toContain('300x250');
    expect(r.body.details[0].path).toBe('/width');
  });

  it('refuses SVG, unknown types, corrupt images and files over the upload limit', async () => {
    const svg = await upload({ advertiserId: advA }, { bytes: strToU8('<svg xmlns="http://www.w3.org/2000/svg"/>') });
    expect(svg.status).toBe(415);
    expect(svg.body.message).toContain('SVG');
    const html = await upload({ advertiserId: advA }, { bytes: strToU8('<html>hi</html>'), type: 'image/png' });
    expect(html.status).toBe(415);
    const corrupt = await upload({ advertiserId: advA }, { bytes: png(10, 10).subarray(0, 20) });
    expect(corrupt.status).toBe(422);
    const big = await upload({ advertiserId: advA }, { bytes: new Uint8Array(UPLOAD_LIMIT + 1).fill(7) });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('MQ_ERR_BODY_TOO_LARGE');
    const json = await t.app.inject({
      method: 'POST',
      url: '/api/v1/assets',
      headers: t.admin.headers,
      payload: { advertiserId: advA },
    });
    expect(json.statusCode).toBe(415);
    expect((await upload({ advertiserId: advA })).status).toBe(400);
    expect((await upload({}, { bytes: png(5, 5) })).status).toBe(400);
    expect((await upload({ advertiserId: advA, color: 'red' }, { bytes: png(5, 5) })).status).toBe(400);
  });

  it('stores HTML5 bundles and serves their files sandboxed; refuses bad bundles', async () => {
    const zip = zipSync({
      'index.html': strToU8('<html><script src="app.js"></script></html>'),
      'app.js': strToU8('1'),
    });
    const r = await upload({ advertiserId: advA, width: '300', height: '250' }, { bytes: zip });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: 'html5', contentType: 'application/zip', width: 300, height: 250 });
    const index = await t.app.inject({ method: 'GET', url: r.body.url });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['content-security-policy']).toContain('sandbox');
    const js = await t.app.inject({ method: 'GET', url: `/assets/${r.body.sha256}/app.js` });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe('1');

    const noIndex = await upload({ advertiserId: advA }, { bytes: zipSync({ 'main.html': strToU8('x') }) });
    expect(noIndex.status).toBe(422);
    const traversal = await upload(
      { advertiserId: advA },
      { bytes: zipSync({ 'index.html': strToU8('x'), '../../evil.html': strToU8('x') }) },
    );
    expect(traversal.status).toBe(422);
    expect(traversal.body.details[0].code).toBe('unsafe_path');
    const bomb = zipSync({ 'index.html': strToU8('x'), 'pad.bin': new Uint8Array(30 * 1024 * 1024) }, { level: 9 });
    expect(bomb.length).toBeLessThan(UPLOAD_LIMIT);
    const bombed = await upload({ advertiserId: advA }, { bytes: bomb });
    expect(bombed.status).toBe(413);
  });

  it('keeps assets inside their tenant', async () => {
    const theirs = await upload({ advertiserId: advB }, { bytes: png(20, 20, 5) });
    expect(theirs.status).toBe(201);
    const foreignUpload = await upload({ advertiserId: advB }, { bytes: png(21, 21) }, trafficker.headers);
    expect(foreignUpload.status).toBe(403);
    const get = await t.app.inject({
      method: 'GET',
      url: `/api/v1/assets/${theirs.body.id}`,
      headers: trafficker.headers,
    });
    expect(get.statusCode).toBe(404);
    expect(get.body).not.toContain(theirs.body.sha256);
    const list = await t.app.inject({
      method: 'GET',
      url: `/api/v1/assets?advertiserId=${advB}`,
      headers: trafficker.headers,
    });
    expect(list.statusCode).toBe(403);
  });

  it('links image creatives to assets of the same advertiser and size', async () => {
    const asset = (await upload({ advertiserId: advA }, { bytes: png(320, 50) })).body;
    const theirs = (await upload({ advertiserId: advB }, { bytes: png(320, 50, 9) })).body;
    const creative = (over: Record<string, unknown>) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/creatives',
        headers: t.admin.headers,
        payload: {
          advertiserId: advA,
          name: 'Mobile',
          kind: 'image',
          width: 320,
          height: 50,
          clickUrl: 'https://a.example/',
          assetId: asset.id,
          ...over,
        },
      });
    expect((await creative({})).statusCode).toBe(201);
    const wrongSize = await creative({ width: 300, height: 250 });
    expect(wrongSize.statusCode).toBe(422);
    expect(wrongSize.json().details[0].message).toContain('320x50');
    const foreign = await creative({ assetId: theirs.id });
    expect(foreign.statusCode).toBe(422);
    expect(foreign.json().details[0]).toMatchObject({ path: '/assetId', code: 'not_found' });
  });
});
