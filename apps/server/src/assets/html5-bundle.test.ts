import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { bundleFileContentType, readHtml5Bundle } from './html5-bundle.ts';

const limits = { maxUnpackedBytes: 100_000, maxFiles: 10 };

describe('readHtml5Bundle', () => {
  it('reads a bundle with index.html and its files', () => {
    const zip = zipSync({ 'index.html': strToU8('<html>ad</html>'), 'js/app.js': strToU8('1') });
    const r = readHtml5Bundle(zip, limits);
    expect(r.kind).toBe('ok');
    if (r.kind !== 'ok') return;
    expect([...r.files.keys()].sort()).toEqual(['index.html', 'js/app.js']);
    expect(Buffer.from(r.files.get('index.html')!).toString()).toBe('<html>ad</html>');
  });

  it('serves a zipped folder as the root', () => {
    const zip = zipSync({ 'banner/index.html': strToU8('<p>x</p>'), 'banner/a.css': strToU8('p{}') });
    const r = readHtml5Bundle(zip, limits);
    expect(r.kind === 'ok' && [...r.files.keys()].sort()).toEqual(['a.css', 'index.html']);
  });

  it('refuses a bundle without index.html', () => {
    const r = readHtml5Bundle(zipSync({ 'main.html': strToU8('x') }), limits);
    expect(r).toMatchObject({ kind: 'invalid', code: 'missing_index', status: 422 });
  });

  it('refuses path traversal and absolute entries', () => {
    for (const name of ['../evil.html', 'a/../../evil.html', '/etc/passwd', 'C:/x.html', 'a\\..\\b']) {
      const r = readHtml5Bundle(zipSync({ 'index.html': strToU8('x'), [name]: strToU8('y') }), limits);
      expect(r, name).toMatchObject({ kind: 'invalid', code: 'unsafe_path' });
    }
  });

  it('refuses bundles too large once unpacked (a zip bomb stays small on the wire)', () => {
    const zip = zipSync({ 'index.html': strToU8('x'), 'pad.txt': new Uint8Array(200_000) }, { level: 9 });
    expect(zip.length).toBeLessThan(2_000);
    expect(readHtml5Bundle(zip, limits)).toMatchObject({ kind: 'invalid', code: 'too_large_unpacked', status: 413 });
  });

  it('refuses too many files and garbage', () => {
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}.txt`, strToU8('x')]));
    expect(readHtml5Bundle(zipSync({ 'index.html': strToU8('x'), ...many }), limits)).toMatchObject({
      code: 'too_many_files',
    });
    const garbage = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(40, 7)]);
    expect(readHtml5Bundle(garbage, limits)).toMatchObject({ kind: 'invalid', status: 422 });
  });

  it('maps file extensions to content types', () => {
    expect(bundleFileContentType('index.html')).toBe('text/html; charset=utf-8');
    expect(bundleFileContentType('img/a.PNG')).toBe('image/png');
    expect(bundleFileContentType('data.bin')).toBe('application/octet-stream');
  });
});
