/*!
 * Marquee web tag. Paste once per page:
 *   <script async src="https://ads.example.com/marquee.js"></script>
 *   <div data-marquee-placement="plc_..."></div>
 * Finds every placement div, asks for all of them in one request, renders each ad in a sandboxed iframe,
 * counts the impression on render and the viewable impression by the IAB rule (50% of pixels in view for
 * one continuous second; 30% for ads of 242,500 px² or more), and sends clicks through Marquee's signed
 * redirect. Uses first-party localStorage for the user key; no cookies.
 */
(() => {
  const w = window;
  const d = document;
  if (w.__marquee) return;
  const script = d.currentScript || d.querySelector('script[src*="marquee.js"]');
  const base = script ? new URL(script.src, location.href).origin : location.origin;
  w.marquee = w.marquee || [];
  const q = w.marquee;
  const api = { base, rendered: {}, refresh: run, push: (f) => typeof f === 'function' && f(api) };
  w.__marquee = api;

  function userKey() {
    const k = 'marquee_uid';
    try {
      let v = localStorage.getItem(k);
      if (!v) {
        v = `u_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
        localStorage.setItem(k, v);
      }
      return v;
    } catch (_e) {
      return '';
    }
  }

  function beacon(url) {
    if (!url) return;
    if (navigator.sendBeacon?.(url)) return;
    fetch(url, { method: 'POST', keepalive: true, mode: 'no-cors', credentials: 'omit' }).catch(() => {});
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  }

  // The creative's own document: it never runs in the publisher's origin (sandbox without allow-same-origin).
  function creativeHtml(ad) {
    const c = ad.creative;
    const style = '<style>html,body{margin:0;padding:0;overflow:hidden}img{display:block;border:0}</style>';
    const link = (inner) => `<a href="${esc(ad.clickUrl)}" target="_blank" rel="noopener">${inner}</a>`;
    if (c.kind === 'image') {
      return `${style}${link(`<img src="${esc(c.imageUrl)}" width="${ad.width}" height="${ad.height}" alt="${esc(c.alt || '')}">`)}`;
    }
    if (c.kind === 'native') {
      const n = c.native;
      return `<style>body{margin:0;font:14px system-ui,sans-serif}a{color:inherit;text-decoration:none;display:flex;gap:8px}img{width:96px;height:72px;object-fit:cover}small{color:#666}</style>${link(
        `${n.imageUrl ? `<img src="${esc(n.imageUrl)}" alt="">` : ''}<span><b>${esc(n.title)}</b><br>${esc(n.body || '')}<br><small>${esc(n.sponsoredBy || 'Sponsored')}</small></span>`,
      )}`;
    }
    return style + String(c.html || '');
  }

  function render(el, ad) {
    const f = d.createElement('iframe');
    f.setAttribute('sandbox', 'allow-scripts allow-popups allow-popups-to-escape-sandbox');
    f.setAttribute('title', 'Advertisement');
    f.setAttribute('scrolling', 'no');
    f.width = String(ad.width || el.offsetWidth || 300);
    f.height = String(ad.height || 250);
    f.style.border = '0';
    f.style.display = 'block';
    f.srcdoc = creativeHtml(ad);
    f.addEventListener('load', () => {
      beacon(ad.tracking.impression);
      el.setAttribute('data-marquee-state', 'rendered');
      watchViewability(el, f, ad);
    });
    el.textContent = '';
    el.appendChild(f);
    el.setAttribute('data-marquee-decision', ad.decisionId);
    api.rendered[ad.decisionId] = ad;
  }

  // IAB/MRC display rule: ≥50% of pixels in view for ≥1 continuous second (30% for large ads), tab visible.
  function watchViewability(el, frame, ad) {
    if (!('IntersectionObserver' in w)) return;
    const area = (ad.width || 0) * (ad.height || 0);
    const threshold = area >= 242500 ? 0.3 : 0.5;
    let timer = 0;
    let done = false;
    const stop = () => {
      if (timer) clearTimeout(timer);
      timer = 0;
    };
    const io = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          if (done) return;
          if (e.intersectionRatio >= threshold && d.visibilityState === 'visible') {
            if (!timer) {
              timer = setTimeout(() => {
                done = true;
                io.disconnect();
                el.setAttribute('data-marquee-state', 'viewable');
                beacon(ad.tracking.viewable);
              }, 1000);
            }
          } else stop();
        }
      },
      { threshold: [0, threshold, 1] },
    );
    d.addEventListener('visibilitychange', () => d.visibilityState !== 'visible' && stop());
    io.observe(frame);
  }

  function run() {
    const els = Array.prototype.slice.call(d.querySelectorAll('[data-marquee-placement]:not([data-marquee-state])'));
    if (!els.length) return Promise.resolve();
    const byId = {};
    for (const el of els) {
      el.setAttribute('data-marquee-state', 'loading');
      const id = el.getAttribute('data-marquee-placement');
      if (!byId[id]) byId[id] = [];
      byId[id].push(el);
    }
    const kw = d.querySelector('meta[name="keywords"]');
    const body = {
      placements: Object.keys(byId).map((id) => ({ id, count: byId[id].length })),
      user: { key: userKey() },
      site: {
        page: location.href.slice(0, 2000),
        referrer: d.referrer.slice(0, 2000),
        keywords: kw
          ? kw.content
              .split(',')
              .map((s) => s.trim().toLowerCase())
              .filter(Boolean)
              .slice(0, 50)
          : [],
      },
    };
    return fetch(`${base}/v1/decisions`, {
      method: 'POST',
      credentials: 'omit',
      headers: { 'content-type': 'text/plain' }, // a "simple" request: no CORS preflight
      body: JSON.stringify(body),
    })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((res) => {
        for (const id of Object.keys(byId)) {
          const ads = res.decisions?.[id] || [];
          byId[id].forEach((el, i) => {
            if (ads[i]) render(el, ads[i]);
            else el.setAttribute('data-marquee-state', 'empty');
          });
        }
      })
      .catch((e) => {
        for (const el of els) el.setAttribute('data-marquee-state', 'error');
        if (w.console) console.warn('marquee:', e?.message);
      });
  }

  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', run);
  else run();
  for (const f of q) api.push(f);
})();
