/**
 * The double-entry model. Every journal entry is a list of lines, one per account it touches, in one
 * currency; a line's `amountMicros` is positive for a debit and negative for a credit, and the lines of
 * an entry sum to exactly zero. Amounts are integer micros (never floats), each within ±2^53.
 *
 * Accounts (one per owner and currency; amounts in different currencies never mix):
 * - `advertiser`   debit-normal: spend and charges debit it, payments and credits credit it. A positive
 *                  balance is owed by the advertiser (a receivable); a negative one is prepaid money left.
 * - `publisher`    credit-normal: the publisher's share of spend credits it, payouts debit it. A negative
 *                  balance is what the network owes the publisher.
 * - `revenue`      the network's revenue (spend − publisher share), credit-normal.
 * - `cash`         money received from advertisers (debit) and paid to publishers (credit).
 * - `adjustments`  the other side of every manual adjustment (credits given, charges added).
 */
import { CURRENCY_PATTERN } from '@marquee/core';

export const ACCOUNT_KINDS = ['advertiser', 'publisher', 'revenue', 'cash', 'adjustments'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

export const ENTRY_KINDS = ['usage', 'payment', 'adjustment'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export interface AccountRef {
  readonly kind: AccountKind;
  /** Advertiser or publisher id; '' for the network's own accounts. */
  readonly ownerId: string;
  readonly currency: string;
}

/** The stable id of an account: `advertiser:adv_…:USD`, `revenue::USD`. */
export function accountId(ref: AccountRef): string {
  return `${ref.kind}:${ref.ownerId}:${ref.currency}`;
}

export const advertiserAccount = (advertiserId: string, currency: string): AccountRef => ({
  kind: 'advertiser',
  ownerId: advertiserId,
  currency,
});
export const publisherAccount = (publisherId: string, currency: string): AccountRef => ({
  kind: 'publisher',
  ownerId: publisherId,
  currency,
});
export const networkAccount = (kind: 'revenue' | 'cash' | 'adjustments', currency: string): AccountRef => ({
  kind,
  ownerId: '',
  currency,
});

export interface JournalLine {
  readonly account: AccountRef;
  /** Debit > 0, credit < 0; never 0. */
  readonly amountMicros: number;
}

/** An entry about to be posted. */
export interface JournalEntryDraft {
  /**
   * Unique forever: posting the same key twice posts once (a retried request, a re-run of the poster).
   * Usage: `usage:<hour>:<advertiser>:<publisher>:<currency>:<spend total>:<revenue total>`.
   */
  readonly postingKey: string;
  readonly kind: EntryKind;
  readonly currency: string;
  /** The UTC hour of usage entries (epoch ms); null for payments and adjustments. */
  readonly hourMs: number | null;
  /** Tenant columns: who may see the entry. */
  readonly advertiserId: string | null;
  readonly publisherId: string | null;
  /** Why: the reason of an adjustment, the reference of a payment. */
  readonly memo: string;
  readonly lines: readonly JournalLine[];
}

/** A posted entry, as read back. */
export interface JournalEntry extends JournalEntryDraft {
  readonly id: number;
  readonly createdAt: string;
  readonly createdBy: string;
}

const CURRENCY_RE = new RegExp(CURRENCY_PATTERN);

/**
 * Every reason `draft` is not a balanced entry (empty when it is). The store refuses to post an entry
 * with problems, and the database checks the sum again when the transaction commits.
 */
export function entryProblems(draft: JournalEntryDraft): string[] {
  const problems: string[] = [];
  if (!draft.postingKey) problems.push('postingKey is empty');
  if (!CURRENCY_RE.test(draft.currency)) problems.push(`currency "${draft.currency}" is not an ISO 4217 code`);
  if (draft.lines.length < 2) problems.push('an entry needs at least two lines');
  let sum = 0n;
  const seen = new Set<string>();
  for (const [i, line] of draft.lines.entries()) {
    const a = line.amountMicros;
    if (!Number.isSafeInteger(a)) problems.push(`line ${i}: amount ${a} is not a safe integer of micros`);
    else if (a === 0) problems.push(`line ${i}: amount is zero`);
    else sum += BigInt(a);
    if (line.account.currency !== draft.currency) {
      problems.push(`line ${i}: account currency ${line.account.currency} differs from the entry's ${draft.currency}`);
    }
    const id = accountId(line.account);
    if (seen.has(id)) problems.push(`line ${i}: account ${id} appears twice`);
    seen.add(id);
  }
  // BigInt so that a sum of large amounts cannot lose precision on the way.
  if (sum !== 0n) problems.push(`lines sum to ${sum}, not 0`);
  return problems;
}

/** Throws when the entry does not balance: a bug in the code building it, never user input. */
export function assertBalanced(draft: JournalEntryDraft): void {
  const problems = entryProblems(draft);
  if (problems.length) throw new RangeError(`unbalanced journal entry ${draft.postingKey}: ${problems.join('; ')}`);
}
