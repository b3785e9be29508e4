/**
 * What the edge learns about the end user before deciding: geo from the IP, device/os/browser from the
 * user agent. Implemented by @marquee/enrich; an interface here so the decision service does not care how.
 */
export interface Enrichment {
  readonly country?: string | undefined;
  readonly region?: string | undefined;
  readonly device?: string | undefined;
  readonly os?: string | undefined;
  readonly browser?: string | undefined;
}

export interface RequestEnricher {
  enrich(ip: string | undefined, userAgent: string | undefined): Enrichment;
}
