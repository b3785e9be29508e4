import { strToU8, zipSync } from 'fflate';
import { imageSize } from 'image-size';
import { describe, expect, it } from 'vitest';
import { encodePng } from './encode-png.ts';
import { sniffContentType } from './sniff-content-type.ts';

describe('sniffContentType', () => {
  it('recognises a generated PNG, and image-size reads its real dimensions', () => {
    const png = encodePng(300, 250, (x, y) => [x % 256, y % 256, 128]);
    expect(sniffContentType(png)).toEqual({ kind: 'image', contentType: 'image/png', ext: 'png' });
    expect(imageSize(png)).toMatchObject({ width: 300, height: 250, type: 'png' });
  });

  it('recognises JPEG, GIF, WebP and zip by their magic bytes', () => {
    expect(sniffContentType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]))).toMatchObject({ ext: 'jpg' });
    expect(sniffContentType(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'))).toMatchObject({ ext: 'gif' });
    expect(sniffContentType(Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1'))).toMatchObject({ ext: 'webp' });
    expect(sniffContentType(zipSync({ 'index.html': strToU8('x') }))).toMatchObject({ kind: 'zip' });
  });

  it('ignores what the name or header claims: text is unknown, SVG is recognised to be refused', () => {
    expect(sniffContentType(Buffer.from('<html><script>alert(1)</script>'))).toEqual({ kind: 'unknown' });
    expect(sniffContentType(Buffer.from('  <svg xmlns="http://www.w3.org/2000/svg"/>'))).toEqual({ kind: 'svg' });
    expect(sniffContentType(Buffer.from('<?xml version="1.0"?><svg/>'))).toEqual({ kind: 'svg' });
    expect(sniffContentType(new Uint8Array(0))).toEqual({ kind: 'unknown' });
  });
});
