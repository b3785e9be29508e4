/**
 * User agent -> device type, OS family and browser family, in the vocabulary of targeting
 * (core's DEVICE_TYPES; lower-case families such as "ios", "android", "chrome").
 *
 * Parser: ua-parser-js 1.x, MIT licensed. (Its 2.x line is AGPL-3.0, which a self-hosted product
 * cannot impose on its operators: stay on 1.x.) Chosen over bowser for its wider device-type
 * coverage (smart TVs, consoles, wearables), which targeting needs. Parsing costs tens of
 * microseconds, and the same few thousand user agents make most traffic, so results are cached in
 * an LRU.
 */
import type { DeviceType } from '@marquee/core';
import { LRUCache } from 'lru-cache';
import { UAParser } from 'ua-parser-js';

export interface DeviceInfo {
  readonly device: DeviceType;
  /** Lower-case OS family; undefined when unknown. */
  readonly os: string | undefined;
  /** Lower-case browser family; undefined when unknown. */
  readonly browser: string | undefined;
}

export interface UserAgentParser {
  parse(userAgent: string | undefined): DeviceInfo;
}

/** Longer user agents are cut before parsing: real ones are under 500 characters. */
export const MAX_USER_AGENT_LENGTH = 512;

const UNKNOWN: DeviceInfo = Object.freeze({ device: 'other', os: undefined, browser: undefined });

const DEVICE: Readonly<Record<string, DeviceType>> = {
  mobile: 'mobile',
  tablet: 'tablet',
  smarttv: 'ctv',
  console: 'console',
  wearable: 'wearable',
  embedded: 'other',
  xr: 'other',
};

const OS: Readonly<Record<string, string>> = {
  'mac os': 'macos',
  macos: 'macos',
  ios: 'ios',
  ipados: 'ios',
  android: 'android',
  windows: 'windows',
  'windows phone': 'windows',
  'chromium os': 'chromeos',
  'chrome os': 'chromeos',
  linux: 'linux',
  ubuntu: 'linux',
  debian: 'linux',
  fedora: 'linux',
  'red hat': 'linux',
  suse: 'linux',
  mint: 'linux',
  arch: 'linux',
  gentoo: 'linux',
  centos: 'linux',
  tizen: 'tizen',
  webos: 'webos',
  harmonyos: 'harmonyos',
};
const DESKTOP_OS = new Set(['macos', 'windows', 'linux', 'chromeos']);

const BROWSER: Readonly<Record<string, string>> = {
  chrome: 'chrome',
  'mobile chrome': 'chrome',
  'chrome webview': 'chrome',
  'chrome headless': 'chrome',
  chromium: 'chrome',
  safari: 'safari',
  'mobile safari': 'safari',
  firefox: 'firefox',
  'mobile firefox': 'firefox',
  edge: 'edge',
  'samsung browser': 'samsung',
  opera: 'opera',
  'opera mobi': 'opera',
  'opera mini': 'opera',
  'opera touch': 'opera',
  ie: 'ie',
  iemobile: 'ie',
};

function family(table: Readonly<Record<string, string>>, name: string | undefined): string | undefined {
  if (!name) return undefined;
  const key = name.toLowerCase();
  return table[key] ?? key.replace(/[^a-z0-9]+/g, '');
}

/** Parses without a cache (tests and one-off use). */
export function parseUserAgent(userAgent: string | undefined): DeviceInfo {
  if (!userAgent) return UNKNOWN;
  const r = new UAParser(userAgent.slice(0, MAX_USER_AGENT_LENGTH)).getResult();
  const os = family(OS, r.os.name);
  const browser = family(BROWSER, r.browser.name);
  const typed = r.device.type ? DEVICE[r.device.type] : undefined;
  // ua-parser-js leaves the type of desktops undefined: a desktop OS without a device type is one.
  const device: DeviceType = typed ?? (os && DESKTOP_OS.has(os) ? 'desktop' : 'other');
  return Object.freeze({ device, os, browser });
}

export function createUserAgentParser(options: { readonly cacheSize?: number } = {}): UserAgentParser {
  const cache = new LRUCache<string, DeviceInfo>({ max: options.cacheSize ?? 10_000 });
  return {
    parse(userAgent) {
      if (!userAgent) return UNKNOWN;
      const key = userAgent.length > MAX_USER_AGENT_LENGTH ? userAgent.slice(0, MAX_USER_AGENT_LENGTH) : userAgent;
      let info = cache.get(key);
      if (info === undefined) {
        info = parseUserAgent(key);
        cache.set(key, info);
      }
      return info;
    },
  };
}
