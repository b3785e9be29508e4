/**
 * Frequency-cap counters: how many times a user (the tag's first-party id, or the key an API caller
 * passes) saw a line item in each capped window.
 *
 * Windows from a minute to a week are FIXED buckets aligned to the Unix epoch (UTC): a cap of
 * 3 per 2 hours counts impressions in [00:00, 02:00), [02:00, 04:00), ... A bucket is one counter
 * that expires when its window ends, so nothing has to be swept. Lifetime counters live until the
 * line item's flight ends (or 400 days from the first impression when it has no end).
 *
 * decide() is synchronous: the HTTP layer loads the view BEFORE deciding (one round trip for all
 * the request's capped candidates, see cappedCandidates in @marquee/decision) and records the
 * served ads after.
 */
import type { FrequencyCap } from '@marquee/core';
import type { FrequencyCapView } from '@marquee/decision';

/** What load() needs to know of a line item: its id and caps (a ServingLineItem fits). */
export interface CappedLineItem {
  readonly id: string;
  readonly frequencyCaps: readonly FrequencyCap[];
}

export interface FrequencyCapStore {
  /**
   * Counts one impression of the line item for the user in every capped window.
   * `lifetimeEndMs`: when the lifetime counter may be forgotten (the flight's end); null = no end.
   */
  record(
    userKey: string,
    lineItemId: string,
    caps: readonly FrequencyCap[],
    nowMs: number,
    lifetimeEndMs?: number | null,
  ): Promise<void>;
  /** The user's counts for these line items' caps in the windows current at `nowMs`. */
  load(userKey: string, lineItems: readonly CappedLineItem[], nowMs: number): Promise<FrequencyCapView>;
  close(): Promise<void>;
}

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 } as const;
/** Lifetime counters of open-ended line items are kept this long after their first impression. */
export const OPEN_LIFETIME_MS = 400 * 86_400_000;

/** One counter of one cap at one instant: its key suffix and when it may expire. */
export interface CapBucket {
  readonly suffix: string;
  readonly expiresAtMs: number;
}

export function capBucket(cap: FrequencyCap, nowMs: number, lifetimeEndMs?: number | null): CapBucket {
  if (cap.per === 'lifetime') {
    const expiresAtMs = lifetimeEndMs == null ? nowMs + OPEN_LIFETIME_MS : Math.max(lifetimeEndMs, nowMs) + 60_000;
    return { suffix: 'life', expiresAtMs };
  }
  const span = cap.span ?? 1;
  const windowMs = UNIT_MS[cap.per] * span;
  const bucket = Math.floor(nowMs / windowMs);
  // A minute of grace so that a load right at the boundary never reads a vanished counter.
  return { suffix: `${cap.per}${span}:${bucket}`, expiresAtMs: (bucket + 1) * windowMs + 60_000 };
}

/** The view's key for a line item's cap: the same for load and count. */
export function viewKey(lineItemId: string, cap: FrequencyCap): string {
  return cap.per === 'lifetime' ? `${lineItemId}|life` : `${lineItemId}|${cap.per}${cap.span ?? 1}`;
}

/** The counts a store loaded, answered synchronously during decide. */
export class LoadedFrequencyCapView implements FrequencyCapView {
  constructor(private readonly counts: ReadonlyMap<string, number>) {}
  count(lineItemId: string, cap: FrequencyCap): number {
    return this.counts.get(viewKey(lineItemId, cap)) ?? 0;
  }
}
