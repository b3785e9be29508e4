/**
 * A ledger in memory with the same rules as the SQL one (balanced entries, unique posting keys, running
 * balances): the simulator posts into it, and the property tests compare it with the rollups it came from.
 */
import { accountId, assertBalanced, type JournalEntryDraft } from './journal-entry.ts';
import { type TrialBalance, trialBalanceOf } from './trial-balance.ts';
import { planUsagePostings, type UsageTotals, usageKey } from './usage-posting.ts';

export class InMemoryLedger {
  private readonly entries: JournalEntryDraft[] = [];
  private readonly keys = new Set<string>();
  private readonly balances = new Map<string, number>();
  private readonly posted = new Map<string, UsageTotals>();

  /** 'posted', or 'exists' when the posting key was posted before (nothing changes). */
  post(draft: JournalEntryDraft): 'posted' | 'exists' {
    assertBalanced(draft);
    if (this.keys.has(draft.postingKey)) return 'exists';
    this.keys.add(draft.postingKey);
    this.entries.push(draft);
    for (const line of draft.lines) {
      const id = accountId(line.account);
      const next = (this.balances.get(id) ?? 0) + line.amountMicros;
      if (!Number.isSafeInteger(next)) throw new RangeError(`balance of ${id} out of range`);
      this.balances.set(id, next);
    }
    return 'posted';
  }

  /** Posts the usage deltas that bring the ledger to `current` (the rollups' totals); returns entries posted. */
  postUsage(current: readonly UsageTotals[]): number {
    let n = 0;
    for (const draft of planUsagePostings(current, this.posted)) if (this.post(draft) === 'posted') n++;
    for (const row of current) this.posted.set(usageKey(row), row);
    return n;
  }

  balance(id: string): number {
    return this.balances.get(id) ?? 0;
  }

  allBalances(): ReadonlyMap<string, number> {
    return this.balances;
  }

  entryCount(): number {
    return this.entries.length;
  }

  trialBalance(): TrialBalance {
    const lines = this.entries.flatMap((e) =>
      e.lines.map((l) => ({ currency: e.currency, amountMicros: l.amountMicros })),
    );
    // Running balances must equal the sums of the lines, account by account.
    const sums = new Map<string, number>();
    for (const e of this.entries) {
      for (const l of e.lines) sums.set(accountId(l.account), (sums.get(accountId(l.account)) ?? 0) + l.amountMicros);
    }
    const mismatched = [...this.balances].filter(([id, b]) => sums.get(id) !== b).map(([id]) => id);
    return trialBalanceOf(lines, mismatched);
  }
}

/**
 * For the pacing simulator: posts hourly usage (spend and revenue share by hour, advertiser, publisher)
 * into a fresh ledger twice (the second run must post nothing) and reports whether it balances to the
 * micro and whether the advertisers' charges equal the spend they came from.
 */
export function ledgerCheck(usage: readonly UsageTotals[]): {
  balanced: boolean;
  entries: number;
  repostedEntries: number;
  chargedMicros: number;
  spendMicros: number;
} {
  const ledger = new InMemoryLedger();
  const entries = ledger.postUsage(usage);
  const repostedEntries = ledger.postUsage(usage);
  let charged = 0;
  for (const [id, b] of ledger.allBalances()) if (id.startsWith('advertiser:')) charged += b;
  const spend = usage.reduce((s, u) => s + u.spendMicros, 0);
  return {
    balanced: ledger.trialBalance().balanced && charged === spend && repostedEntries === 0,
    entries,
    repostedEntries,
    chargedMicros: charged,
    spendMicros: spend,
  };
}
