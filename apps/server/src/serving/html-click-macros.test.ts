import type { Creative } from '@marquee/core';
import { describe, expect, it } from 'vitest';
import { creativeHtml, expandClickMacros } from './html-click-macros.ts';

const URL = 'https://ads.example/t/click/abc?x=1&y=2';

describe('click macros of HTML creatives', () => {
  it('replaces every kind of macro, the ESC one percent-encoded', () => {
    const html =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal macro text HTML creatives contain
      '<a href="%%CLICK_URL_UNESC%%">a</a><a href="/r?u=%%CLICK_URL_ESC%%">b</a>{{CLICK_URL}}|${CLICK_URL}|%%CLICK_URL_UNESC%%';
    expect(expandClickMacros(html, URL)).toBe(
      `<a href="${URL}">a</a><a href="/r?u=${encodeURIComponent(URL)}">b</a>${URL}|${URL}|${URL}`,
    );
  });

  it('leaves markup without macros (or with an unknown CLICK_URL text) as it is', () => {
    expect(expandClickMacros('<b>hi</b>', URL)).toBe('<b>hi</b>');
    expect(expandClickMacros('CLICK_URL %%CLICK_URL%%', URL)).toBe('CLICK_URL %%CLICK_URL%%');
  });

  it('compiles once per creative object and expands each decision with its own URL', () => {
    const c = { kind: 'html', html: 'x%%CLICK_URL_UNESC%%y' } as Creative;
    expect(creativeHtml(c, 'u1')).toBe('xu1y');
    expect(creativeHtml(c, 'u2')).toBe('xu2y');
    expect(creativeHtml({ kind: 'html' } as Creative, 'u')).toBe('');
  });
});
