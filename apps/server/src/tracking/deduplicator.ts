/**
 * The deduplication port: "has this key been seen `limit` times already?" with an expiry per key.
 * Tracking keys are `<kind>:<decisionId>` (one impression, one viewable, N clicks per served ad) and
 * `conv:<advertiserId>:<orderId>` (one conversion per order). A key lives until the signed URL it guards
 * expires: after that the URL itself is refused as expired, so the memory is bounded by the token TTL.
 *
 * Implementations: InMemoryDeduplicator (embedded; rebuilt from the event log on start) and
 * RedisDeduplicator (shared by every worker and server). Both pass deduplicator.contract.ts.
 * Results are synchronous when the implementation can answer at once (in memory), a promise otherwise,
 * so the hot path of the embedded server never awaits.
 */
export interface ClaimRequest {
  readonly key: string;
  /** How many occurrences are accepted (1 for impressions; the configured max for clicks). */
  readonly limit: number;
  /** Epoch ms after which the key is forgotten. */
  readonly expiresAtMs: number;
}

export interface Deduplicator {
  /** Counts one occurrence; true when it is within the first `limit` (accept), false for a duplicate. */
  claim(request: ClaimRequest): boolean | Promise<boolean>;
  /** claim() for many keys, in order (a key repeated in the batch counts each time). */
  claimMany(requests: readonly ClaimRequest[]): boolean[] | Promise<boolean[]>;
  /** Gives back an accepted occurrence whose event could not be stored (the client will retry). */
  release(key: string): void | Promise<void>;
  close(): Promise<void>;
}
