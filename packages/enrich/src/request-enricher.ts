import type { GeoLocator } from './geo-locator.ts';
import type { UserAgentParser } from './user-agent-parser.ts';

/** What enrichment adds to a decision request (the fields of DecisionRequest it fills). */
export interface Enrichment {
  readonly country: string | undefined;
  readonly region: string | undefined;
  readonly device: string;
  readonly os: string | undefined;
  readonly browser: string | undefined;
}

/**
 * Runs before decide(): the pure core receives ready values and never parses a user agent or reads
 * a database. Both steps are synchronous (the geo database is in memory) and cached.
 */
export function createRequestEnricher(deps: { readonly geo: GeoLocator; readonly userAgents: UserAgentParser }) {
  return {
    enrich(input: { readonly ip?: string; readonly userAgent?: string }): Enrichment {
      const g = deps.geo.lookup(input.ip);
      const d = deps.userAgents.parse(input.userAgent);
      return { country: g.country, region: g.region, device: d.device, os: d.os, browser: d.browser };
    },
  };
}
