/**
 * The demo publisher page: every active display placement of one site (the first with placements, or
 * `?site=`), each as a `<div data-marquee-placement>` filled by the web tag, plus the video placements'
 * VAST URLs. It is what a publisher pastes, shown working.
 */
import type { ServingSnapshot } from '@marquee/decision';
import { escapeXml as esc } from './vast.ts';

export function renderDemoPage(snapshot: ServingSnapshot, siteId?: string): string {
  const placements = [...snapshot.placements.values()].filter((p) => p.active);
  const sites = new Map<string, { name: string; domain: string }>();
  for (const p of placements) {
    if (p.site) sites.set(p.site.id, { name: p.site.name, domain: p.site.domain ?? p.site.bundle ?? '' });
  }
  const chosen = siteId && sites.has(siteId) ? siteId : [...sites.keys()][0];
  const here = placements.filter((p) => p.placement.siteId === chosen);
  const display = here.filter((p) => !p.placement.formats.includes('video'));
  const videos = placements.filter((p) => p.placement.formats.includes('video'));
  const slot = (p: (typeof here)[number]) => {
    const size = p.placement.sizes[0];
    const label = size ? `${size.w}×${size.h}` : p.placement.formats.join(', ');
    const style = size ? ` style="width:${size.w}px;min-height:${size.h}px"` : ' style="width:400px;min-height:90px"';
    return `<figure><figcaption>${esc(p.placement.name)} <small>${esc(label)} · ${esc(p.id)}</small></figcaption>
<div class="slot"${style} data-marquee-placement="${esc(p.id)}"></div></figure>`;
  };
  const nav = [...sites.entries()]
    .map(
      ([id, s]) =>
        `<a href="/demo?site=${encodeURIComponent(id)}"${id === chosen ? ' aria-current="page"' : ''}>${esc(s.name)}</a>`,
    )
    .join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Marquee demo page</title>
<meta name="keywords" content="travel, sports, news, recipes">
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:16px;color:#222}
figure{margin:16px 0}figcaption{font-size:13px;color:#555}small{color:#888}.slot{background:#f3f3f3;outline:1px dashed #ccc}
nav a{margin-right:4px}[aria-current]{font-weight:bold}code{background:#f3f3f3;padding:2px 4px}</style>
</head><body>
<h1>Marquee demo page</h1>
<p>This page is what a publisher builds: one <code>&lt;script async src="/marquee.js"&gt;</code> and a
<code>&lt;div data-marquee-placement="…"&gt;</code> per ad slot. Ads render in sandboxed iframes; impressions count on
render, viewable impressions after one second at 50% in view.</p>
<nav>Sites: ${nav || 'none'}</nav>
${display.length ? display.map(slot).join('\n') : '<p>No active display placements on this site.</p>'}
${
  videos.length
    ? `<h2>Video</h2><ul>${videos
        .map(
          (p) => `<li>${esc(p.placement.name)}: <a href="/v1/vast?placement=${encodeURIComponent(p.id)}">VAST</a></li>`,
        )
        .join('')}</ul>`
    : ''
}
<script async src="/marquee.js"></script>
</body></html>`;
}
