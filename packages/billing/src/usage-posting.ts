/**
 * Posting usage from the hourly rollups. The rollups hold, per UTC hour, the spend of valid billable
 * events and the publisher's share of it (invalid events never reach either sum). The poster sums them by
 * (hour, advertiser, publisher, currency), compares with what it has already posted for that key, and posts
 * one entry for the difference:
 *
 *   debit  advertiser   Δspend
 *   credit publisher    Δrevenue
 *   credit revenue      Δspend − Δrevenue
 *
 * The posting key names the totals the entry brings the key to, so a re-run (or a second poster) that
 * computes the same delta produces the same key and posts nothing; a rollup row that grows after it was
 * posted (late events) yields a new key and a delta entry.
 */
import {
  advertiserAccount,
  assertBalanced,
  type JournalEntryDraft,
  type JournalLine,
  networkAccount,
  publisherAccount,
} from './journal-entry.ts';

/** Cumulative usage of one posting key: from the rollups (now) or from the postings (already posted). */
export interface UsageTotals {
  readonly hourMs: number;
  readonly advertiserId: string;
  readonly publisherId: string;
  readonly currency: string;
  readonly spendMicros: number;
  readonly revenueMicros: number;
}

export function usageKey(u: Pick<UsageTotals, 'hourMs' | 'advertiserId' | 'publisherId' | 'currency'>): string {
  return `${new Date(u.hourMs).toISOString()}|${u.advertiserId}|${u.publisherId}|${u.currency}`;
}

/** The entry that brings `posted` (undefined: nothing yet) to `current`; null when there is nothing to post. */
export function usageEntry(current: UsageTotals, posted: UsageTotals | undefined): JournalEntryDraft | null {
  const dSpend = current.spendMicros - (posted?.spendMicros ?? 0);
  const dRevenue = current.revenueMicros - (posted?.revenueMicros ?? 0);
  if (dSpend === 0 && dRevenue === 0) return null;
  const c = current.currency;
  const lines: JournalLine[] = [];
  const push = (line: JournalLine) => {
    if (line.amountMicros !== 0) lines.push(line);
  };
  push({ account: advertiserAccount(current.advertiserId, c), amountMicros: dSpend });
  push({ account: publisherAccount(current.publisherId, c), amountMicros: -dRevenue });
  push({ account: networkAccount('revenue', c), amountMicros: dRevenue - dSpend });
  const draft: JournalEntryDraft = {
    postingKey: `usage:${usageKey(current)}:${current.spendMicros}:${current.revenueMicros}`,
    kind: 'usage',
    currency: c,
    hourMs: current.hourMs,
    advertiserId: current.advertiserId,
    publisherId: current.publisherId,
    memo: posted ? 'late events (delta)' : '',
    lines,
  };
  assertBalanced(draft);
  return draft;
}

/** The entries that bring every key of `posted` to `current` (keys absent from `current` are left alone). */
export function planUsagePostings(
  current: readonly UsageTotals[],
  posted: ReadonlyMap<string, UsageTotals>,
): JournalEntryDraft[] {
  const drafts: JournalEntryDraft[] = [];
  for (const row of current) {
    const draft = usageEntry(row, posted.get(usageKey(row)));
    if (draft) drafts.push(draft);
  }
  return drafts;
}
