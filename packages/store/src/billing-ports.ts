/**
 * The billing side of the store: the double-entry ledger, the usage poster's bookkeeping and credit
 * limits. The rules of entries (balanced, one currency, integer micros) live in @marquee/billing; the
 * tables (migration 3) enforce them again at commit.
 */
import type {
  AccountKind,
  AdvertiserExposure,
  EntryKind,
  JournalEntry,
  JournalEntryDraft,
  TrialBalance,
} from '@marquee/billing';

export interface PostResult {
  /** 'exists': an entry with this posting key was posted before; it is returned and nothing changes. */
  readonly kind: 'posted' | 'exists';
  readonly entry: JournalEntry;
}

export interface AccountBalance {
  readonly accountId: string;
  readonly kind: AccountKind;
  readonly ownerId: string;
  readonly currency: string;
  /** Debit-normal: > 0 owed to the network (advertiser), < 0 owed by the network (publisher), prepaid left. */
  readonly balanceMicros: number;
}

export interface BalanceFilter {
  readonly advertiserIds?: readonly string[];
  readonly publisherIds?: readonly string[];
  /** Include the network's own accounts (revenue, cash, adjustments). */
  readonly network?: boolean;
}

export interface EntryQuery {
  /** Entries of these advertisers or (OR) of these publishers; both undefined: every entry. */
  readonly advertiserIds?: readonly string[];
  readonly publisherIds?: readonly string[];
  readonly kinds?: readonly EntryKind[];
  /** Posting time range (created_at), half-open, epoch ms. */
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Newest first; entries with id < beforeId (paging). */
  readonly beforeId?: number;
  readonly limit: number;
}

export interface CreditLimit {
  readonly advertiserId: string;
  readonly currency: string;
  readonly creditLimitMicros: number;
  readonly updatedAt: string;
}

export interface UsagePostingRun {
  /** Entries posted by this run (0 when the rollups have not changed). */
  readonly entries: number;
  /** (hour, advertiser, publisher, currency) keys read from the rollups. */
  readonly keys: number;
  readonly throughMs: number;
}

export interface UsagePostingOptions {
  /** Posts rollup hours starting before this instant (the poster passes now − settle delay). */
  readonly throughMs: number;
  /** How far back rollup hours are compared with what was posted (late events older than this are not posted). */
  readonly lookbackMs: number;
}

export interface PostedUsage {
  readonly currency: string;
  readonly spendMicros: number;
  readonly revenueMicros: number;
}

export interface BillingStore {
  /** Posts one entry (idempotent by its posting key). Throws a RangeError for an unbalanced draft (a bug). */
  post(draft: JournalEntryDraft, createdBy: string): Promise<PostResult>;
  /** Posts the usage in the rollups not yet posted, as delta entries, in one transaction (one poster at a time). */
  postUsage(options: UsagePostingOptions): Promise<UsagePostingRun>;
  /** Usage posted for hours in [fromMs, toMs), per currency, for one advertiser or publisher. */
  postedUsage(query: {
    advertiserId?: string;
    publisherId?: string;
    fromMs: number;
    toMs: number;
  }): Promise<PostedUsage[]>;
  balances(filter: BalanceFilter): Promise<AccountBalance[]>;
  entries(query: EntryQuery): Promise<JournalEntry[]>;
  /** null removes the limit (post-paid, never stopped). */
  setCreditLimit(advertiserId: string, limit: { currency: string; creditLimitMicros: number } | null): Promise<void>;
  creditLimits(advertiserIds?: readonly string[]): Promise<CreditLimit[]>;
  /** Balance, unposted spend and limit of every advertiser with a credit limit (the billing gate reads this). */
  exposures(): Promise<AdvertiserExposure[]>;
  /** Per currency: debits equal credits? And every account's running balance equals the sum of its lines? */
  trialBalance(): Promise<TrialBalance>;
}
