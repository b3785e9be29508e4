import { encodePng } from '../assets/encode-png.ts';
import { drawText, textHeight, textWidth } from './pixel-font.ts';

export type Rgb = readonly [number, number, number];

export interface BannerDesign {
  readonly width: number;
  readonly height: number;
  readonly from: Rgb;
  readonly to: Rgb;
  readonly ink: Rgb;
  readonly accent: Rgb;
  /** Headline first, then a call to action drawn on an accent button. */
  readonly headline: string;
  readonly cta: string;
}

/**
 * A real PNG banner at exactly the placement size: a gradient, a headline and a call-to-action
 * button, laid out for wide (728x90, 320x50), tall (160x600, 300x600) and box (300x250) shapes.
 */
export function renderBanner(d: BannerDesign): Buffer {
  const { width: w, height: h } = d;
  const canvas = new Uint8Array(w * h * 3);
  const set = (x: number, y: number, c: Rgb) => {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    const o = (y * w + x) * 3;
    canvas[o] = c[0];
    canvas[o + 1] = c[1];
    canvas[o + 2] = c[2];
  };
  const diag = w + h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = (x + y) / diag;
      set(x, y, [mix(d.from[0], d.to[0], t), mix(d.from[1], d.to[1], t), mix(d.from[2], d.to[2], t)]);
    }
  }
  for (let x = 0; x < w; x++) {
    set(x, 0, d.accent);
    set(x, h - 1, d.accent);
  }
  for (let y = 0; y < h; y++) {
    set(0, y, d.accent);
    set(w - 1, y, d.accent);
  }

  const wide = w / h >= 3;
  const fit = (text: string, maxW: number, maxH: number) => {
    let s = 1;
    while (textWidth(text, s + 1) <= maxW && textHeight(s + 1) <= maxH && s < 6) s++;
    return s;
  };
  const button = (x: number, y: number, text: string, scale: number) => {
    const bw = textWidth(text, scale) + 4 * scale;
    const bh = textHeight(scale) + 4 * scale;
    for (let yy = y; yy < y + bh; yy++) for (let xx = x; xx < x + bw; xx++) set(xx, yy, d.accent);
    drawText(text, x + 2 * scale, y + 2 * scale, scale, (px, py) => set(px, py, d.from));
    return { bw, bh };
  };

  if (wide) {
    const ctaScale = Math.max(1, fit(d.cta, w * 0.25, h * 0.5));
    const ctaW = textWidth(d.cta, ctaScale) + 4 * ctaScale;
    const hs = fit(d.headline, w - ctaW - 24, h * 0.6);
    drawText(d.headline, 10, Math.floor((h - textHeight(hs)) / 2), hs, (x, y) => set(x, y, d.ink));
    const bh = textHeight(ctaScale) + 4 * ctaScale;
    button(w - ctaW - 10, Math.floor((h - bh) / 2), d.cta, ctaScale);
  } else {
    // Tall and box shapes: wrap the headline word by word, then the button below it.
    const words = d.headline.split(' ');
    const lines: string[] = [];
    const maxW = w - 20;
    let scale = 6;
    for (; scale > 1; scale--) {
      lines.length = 0;
      let line = '';
      for (const word of words) {
        const tryLine = line ? `${line} ${word}` : word;
        if (textWidth(tryLine, scale) <= maxW) line = tryLine;
        else {
          if (line) lines.push(line);
          line = word;
        }
      }
      if (line) lines.push(line);
      const tooWide = lines.some((l) => textWidth(l, scale) > maxW);
      if (!tooWide && lines.length * (textHeight(scale) + 2 * scale) <= h * 0.6) break;
    }
    let y = Math.floor(h * 0.12);
    for (const line of lines) {
      drawText(line, Math.floor((w - textWidth(line, scale)) / 2), y, scale, (x, yy) => set(x, yy, d.ink));
      y += textHeight(scale) + 2 * scale;
    }
    const cs = Math.max(1, Math.min(scale, fit(d.cta, w * 0.8, h * 0.1)));
    const bw = textWidth(d.cta, cs) + 4 * cs;
    const bh = textHeight(cs) + 4 * cs;
    button(Math.floor((w - bw) / 2), h - bh - Math.floor(h * 0.08), d.cta, cs);
  }
  return encodePng(w, h, (x, y) => {
    const o = (y * w + x) * 3;
    return [canvas[o]!, canvas[o + 1]!, canvas[o + 2]!];
  });
}

const mix = (a: number, b: number, t: number) => Math.round(a + (b - a) * t);
