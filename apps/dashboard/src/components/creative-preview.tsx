/**
 * A creative shown at its real size inside a sandboxed iframe: `allow-scripts` without `allow-same-origin`, so the
 * creative's HTML runs with an opaque origin and can touch neither the dashboard nor its session.
 */
import type { JSX } from 'solid-js';
import { Show } from 'solid-js';

export interface PreviewInput {
  readonly kind: string;
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  readonly imageUrl?: string | undefined;
  readonly html?: string | undefined;
  readonly native?:
    | { title?: string; body?: string; imageUrl?: string; callToAction?: string; sponsoredBy?: string }
    | undefined;
  readonly videoUrl?: string | undefined;
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The document shown in the frame; URLs are made absolute because the frame has no origin of its own. */
export function previewDocument(p: PreviewInput, origin: string): string | null {
  const abs = (u: string): string => (u.startsWith('/') ? origin + u : u);
  const reset = '<style>html,body{margin:0;padding:0;overflow:hidden}</style>';
  switch (p.kind) {
    case 'image':
      return p.imageUrl
        ? `<!doctype html>${reset}<img src="${esc(abs(p.imageUrl))}" width="${p.width ?? ''}" height="${p.height ?? ''}" alt="">`
        : null;
    case 'html':
      return p.html ? `<!doctype html>${reset}${p.html}` : null;
    case 'native': {
      const n = p.native;
      if (!n?.title) return null;
      return `<!doctype html><style>body{font:14px system-ui;margin:8px}img{max-width:100%}small{color:#666}</style>${
        n.imageUrl ? `<img src="${esc(abs(n.imageUrl))}" alt="">` : ''
      }<h3>${esc(n.title)}</h3><p>${esc(n.body ?? '')}</p><small>${esc(n.sponsoredBy ?? '')}</small> <b>${esc(n.callToAction ?? '')}</b>`;
    }
    case 'vast':
      return p.videoUrl
        ? `<!doctype html>${reset}<video src="${esc(abs(p.videoUrl))}" width="${p.width ?? 640}" height="${p.height ?? 360}" controls muted></video>`
        : null;
    default:
      return null;
  }
}

export function CreativePreview(props: { input: PreviewInput }): JSX.Element {
  const doc = (): string | null => previewDocument(props.input, window.location.origin);
  const width = (): number => props.input.width ?? (props.input.kind === 'vast' ? 640 : 300);
  const height = (): number => props.input.height ?? (props.input.kind === 'vast' ? 360 : 250);
  return (
    <figure class="space-y-2">
      <Show
        when={doc()}
        fallback={<p class="text-sm text-slate-600">Nothing to preview yet: add the creative's content.</p>}
      >
        <div class="max-w-full overflow-auto rounded border border-dashed border-slate-300 bg-[repeating-conic-gradient(#f1f5f9_0_25%,#fff_0_50%)] bg-[length:16px_16px] p-2">
          <iframe
            title="Creative preview"
            sandbox="allow-scripts"
            referrerpolicy="no-referrer"
            srcdoc={doc()!}
            width={width()}
            height={height()}
            style={{ width: `${width()}px`, height: `${height()}px`, border: '0', display: 'block' }}
          />
        </div>
      </Show>
      <figcaption class="text-xs text-slate-600">
        Real size: {width()}×{height()} px, sandboxed (scripts run, but cannot reach this page).
      </figcaption>
    </figure>
  );
}
