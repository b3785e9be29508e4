/**
 * HTML creatives put the click URL where the ad server says: the common macros of ad servers
 * (%%CLICK_URL_UNESC%%, %%CLICK_URL_ESC%%, {{CLICK_URL}}, ${CLICK_URL}) are replaced.
 *
 * Hot path: the markup is split at its macros once per creative object of the snapshot (the objects are
 * stable between updates), so a decision only joins the pieces with its click URL: no scan of the markup.
 */
import type { Creative } from '@marquee/core';

const MACROS = /%%CLICK_URL_UNESC%%|%%CLICK_URL_ESC%%|\{\{CLICK_URL\}\}|\$\{CLICK_URL\}/g;

/** Literal pieces with the macros between them; `escaped[i]` says whether the macro after piece i is the ESC one. */
interface Template {
  readonly pieces: readonly string[];
  readonly escaped: readonly boolean[];
  readonly anyEscaped: boolean;
}

function compile(html: string): Template | null {
  if (!html.includes('CLICK_URL')) return null;
  const pieces: string[] = [];
  const escaped: boolean[] = [];
  let last = 0;
  for (const m of html.matchAll(MACROS)) {
    pieces.push(html.slice(last, m.index));
    escaped.push(m[0] === '%%CLICK_URL_ESC%%');
    last = m.index + m[0].length;
  }
  if (escaped.length === 0) return null;
  pieces.push(html.slice(last));
  return { pieces, escaped, anyEscaped: escaped.includes(true) };
}

function expand(t: Template, clickUrl: string): string {
  const encoded = t.anyEscaped ? encodeURIComponent(clickUrl) : clickUrl;
  let out = t.pieces[0]!;
  for (let i = 0; i < t.escaped.length; i++) {
    out += t.escaped[i] ? encoded : clickUrl;
    out += t.pieces[i + 1]!;
  }
  return out;
}

export function expandClickMacros(html: string, clickUrl: string): string {
  const t = compile(html);
  return t ? expand(t, clickUrl) : html;
}

const templates = new WeakMap<Creative, Template | null>();

/** The creative's markup with its click macros expanded (compiled once per creative object). */
export function creativeHtml(c: Creative, clickUrl: string): string {
  const html = c.html ?? '';
  let t = templates.get(c);
  if (t === undefined) {
    t = compile(html);
    templates.set(c, t);
  }
  return t ? expand(t, clickUrl) : html;
}
