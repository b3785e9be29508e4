/**
 * The decision request as the core sees it: already validated and normalised by the edge
 * (keywords lower case, country upper case, device/os/browser from the user agent, geo from the IP).
 */
export interface PlacementRequest {
  readonly placementId: string;
  /** How many ads this placement takes (default 1). */
  readonly count?: number;
}

export interface DecisionRequest {
  readonly placements: readonly PlacementRequest[];
  readonly userKey?: string;
  readonly country?: string;
  readonly region?: string;
  readonly device?: string;
  readonly os?: string;
  readonly browser?: string;
  readonly keywords?: readonly string[];
  /** Page or app content categories; the site's own categories are added. */
  readonly categories?: readonly string[];
  readonly segments?: readonly string[];
  readonly kv?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * true: return a trace giving every line item its reason; { lineItemIds }: the same, limited to
   * those line items (an advertiser sees only its own). Off by default and free when off.
   */
  readonly explain?: boolean | { readonly lineItemIds: readonly string[] };
}
