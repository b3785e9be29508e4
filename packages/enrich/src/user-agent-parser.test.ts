import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEVICE_TYPES } from '@marquee/core';
import { describe, expect, it } from 'vitest';
import { createUserAgentParser, parseUserAgent } from './user-agent-parser.ts';

// Real user agents, grouped by browser: shared/data/bots/browsers.yml beside the repository.
const FILE = join(import.meta.dirname, '../../../../shared/data/bots/browsers.yml');
const present = existsSync(FILE);
if (!present) console.warn(`skipping user-agent corpus tests: ${FILE} is absent`);

/** The file is "Name:" lines followed by "  - <user agent>" lines. */
function corpus(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of readFileSync(FILE, 'utf8').split('\n')) {
    if (line.startsWith('  - ')) current?.push(line.slice(4).trim());
    else if (/^\S.*:$/.test(line)) {
      current = [];
      groups.set(line.slice(0, -1), current);
    }
  }
  return groups;
}

describe.skipIf(!present)('user agents from the corpus', () => {
  const groups = present ? corpus() : new Map<string, string[]>();
  const ua = (group: string, contains: string) => {
    const found = groups.get(group)?.find((u) => u.includes(contains));
    if (!found) throw new Error(`no "${contains}" user agent under "${group}"`);
    return found;
  };

  it('reads the corpus', () => {
    expect(groups.size).toBeGreaterThan(100);
  });

  it.each([
    ['Firefox', 'Windows NT 10.0; Win64; x64; rv:100.0', { device: 'desktop', os: 'windows', browser: 'firefox' }],
    ['Firefox', 'Intel Mac OS X 10_10; rv:33.0', { device: 'desktop', os: 'macos', browser: 'firefox' }],
    ['Chrome', 'SM-G7102', { device: 'mobile', os: 'android', browser: 'chrome' }],
    ['Safari', 'iPhone OS 13_2_3', { device: 'mobile', os: 'ios', browser: 'safari' }],
    ['Edge', 'Edg/81.0.416.45', { device: 'desktop', os: 'macos', browser: 'edge' }],
    [
      'Edge',
      'Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/64',
      { device: 'desktop', os: 'windows', browser: 'edge' },
    ],
    ['Internet Explorer', 'MSIE 7.0; Windows NT 6.0)', { device: 'desktop', os: 'windows', browser: 'ie' }],
    ['Amazon 4K Fire TV', 'AFTS', { device: 'ctv', os: 'android' }],
  ])('%s (%s)', (group, contains, expected) => {
    expect(parseUserAgent(ua(group, contains))).toMatchObject(expected);
  });

  it('gives every user agent of the corpus a known device type and lower-case families', () => {
    const parser = createUserAgentParser();
    let n = 0;
    for (const uas of groups.values()) {
      for (const u of uas) {
        const info = parser.parse(u);
        expect(DEVICE_TYPES).toContain(info.device);
        for (const fam of [info.os, info.browser]) if (fam !== undefined) expect(fam).toMatch(/^[a-z0-9]+$/);
        n++;
      }
    }
    expect(n).toBeGreaterThan(500);
  });
});

describe('createUserAgentParser', () => {
  it('caches results and copes with missing, empty and absurd user agents', () => {
    const parser = createUserAgentParser({ cacheSize: 10 });
    const chrome =
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
    const a = parser.parse(chrome);
    expect(a).toEqual({ device: 'desktop', os: 'windows', browser: 'chrome' });
    expect(parser.parse(chrome)).toBe(a);
    expect(parser.parse(undefined)).toEqual({ device: 'other', os: undefined, browser: undefined });
    expect(parser.parse('')).toEqual({ device: 'other', os: undefined, browser: undefined });
    expect(parser.parse(`${chrome}${'x'.repeat(100_000)}`).browser).toBe('chrome');
    expect(parser.parse('curl/8.5.0').device).toBe('other');
  });
});
