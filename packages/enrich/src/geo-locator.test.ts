import { describe, expect, it } from 'vitest';
import { defaultGeoDatabasePath, MmdbGeoLocator } from './geo-locator.ts';
import { createRequestEnricher } from './request-enricher.ts';
import { createUserAgentParser } from './user-agent-parser.ts';

describe('MmdbGeoLocator with the bundled database', () => {
  it('finds the country of well-known, long-stable addresses', async () => {
    const geo = await MmdbGeoLocator.open();
    expect(defaultGeoDatabasePath()).toMatch(/\.mmdb$/);
    expect(geo.lookup('8.8.8.8').country).toBe('US'); // Google Public DNS
    expect(geo.lookup('2001:4860:4860::8888').country).toBe('US'); // the same, IPv6
    expect(geo.lookup('193.0.6.139').country).toBe('NL'); // RIPE NCC, Amsterdam
    expect(geo.lookup('8.8.8.8').region).toBeUndefined(); // a country-level database
  });

  it('answers nothing, and does not throw, for private, malformed and missing addresses', async () => {
    const geo = await MmdbGeoLocator.open();
    for (const ip of ['127.0.0.1', '10.1.2.3', '::1', 'not an ip', '999.1.1.1', '', undefined]) {
      expect(geo.lookup(ip)).toEqual({ country: undefined, region: undefined });
    }
  });

  it('answers the same from its per-IP cache, also past its bound (entries evicted and looked up again)', async () => {
    const geo = await MmdbGeoLocator.open(defaultGeoDatabasePath(), 2);
    const ips = ['8.8.8.8', '193.0.6.139', '10.1.2.3', '2001:4860:4860::8888'];
    const first = ips.map((ip) => geo.lookup(ip).country);
    expect(first).toEqual(['US', 'NL', undefined, 'US']);
    for (let round = 0; round < 3; round++) expect(ips.map((ip) => geo.lookup(ip).country)).toEqual(first);
    expect(geo.lookup('x'.repeat(200))).toEqual({ country: undefined, region: undefined });
  });

  it('enriches a request from its IP and user agent', async () => {
    const enricher = createRequestEnricher({ geo: await MmdbGeoLocator.open(), userAgents: createUserAgentParser() });
    expect(
      enricher.enrich({
        ip: '8.8.8.8',
        userAgent:
          'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      }),
    ).toEqual({ country: 'US', region: undefined, device: 'mobile', os: 'ios', browser: 'safari' });
  });
});
