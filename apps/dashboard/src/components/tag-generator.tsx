/** The snippet a publisher pastes for a placement, with copy and a link to see it live on the test page. */
import type { JSX } from 'solid-js';
import { createSignal, Show } from 'solid-js';

export function tagSnippet(origin: string, placementId: string): string {
  return `<script async src="${origin}/marquee.js"></script>\n<div data-marquee-placement="${placementId}"></div>`;
}

export function TagGenerator(props: { placementId: string; siteId: string }): JSX.Element {
  const [copied, setCopied] = createSignal(false);
  const snippet = (): string => tagSnippet(window.location.origin, props.placementId);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(snippet());
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      setCopied(false);
    }
  };
  return (
    <section aria-labelledby="tag-title" class="card space-y-3">
      <h2 id="tag-title" class="text-lg font-semibold">
        Ad tag
      </h2>
      <p class="text-sm text-slate-600">
        Paste this where the ad should appear. The script loads once per page, however many placements it has.
      </p>
      <label for="tag-code" class="label">
        Tag for this placement
      </label>
      <textarea id="tag-code" readonly class="input h-20 font-mono text-xs" onFocus={(e) => e.currentTarget.select()}>
        {snippet()}
      </textarea>
      <div class="flex flex-wrap items-center gap-3">
        <button type="button" class="btn" onClick={copy}>
          Copy tag
        </button>
        <a class="btn" href={`/demo?site=${encodeURIComponent(props.siteId)}`} target="_blank" rel="noopener">
          Open live test page
        </a>
        <Show when={copied()}>
          <span role="status" class="text-sm text-emerald-700">
            Copied
          </span>
        </Show>
      </div>
    </section>
  );
}
