/**
 * The check that the books balance: per currency, the sum of every line of every entry is zero, and each
 * account's stored balance equals the sum of its lines. Run by the store (`BillingStore.trialBalance`), by
 * the simulator and by the property tests.
 */
export interface CurrencyTrialBalance {
  readonly currency: string;
  /** Sum of the debits (positive lines) and of the credits (negative lines, as a positive number). */
  readonly debitsMicros: number;
  readonly creditsMicros: number;
  readonly balanced: boolean;
}

export interface TrialBalance {
  readonly currencies: readonly CurrencyTrialBalance[];
  /** Accounts whose stored balance differs from the sum of their lines (empty when consistent). */
  readonly mismatchedAccounts: readonly string[];
  readonly balanced: boolean;
}

/** Sums lines exactly (BigInt) and reports per currency. */
export function trialBalanceOf(
  lines: Iterable<{ readonly currency: string; readonly amountMicros: number }>,
  mismatchedAccounts: readonly string[] = [],
): TrialBalance {
  const debits = new Map<string, bigint>();
  const credits = new Map<string, bigint>();
  for (const l of lines) {
    const a = BigInt(l.amountMicros);
    if (a > 0n) debits.set(l.currency, (debits.get(l.currency) ?? 0n) + a);
    else credits.set(l.currency, (credits.get(l.currency) ?? 0n) - a);
  }
  const currencies = [...new Set([...debits.keys(), ...credits.keys()])].sort().map((currency) => {
    const d = debits.get(currency) ?? 0n;
    const c = credits.get(currency) ?? 0n;
    return { currency, debitsMicros: Number(d), creditsMicros: Number(c), balanced: d === c };
  });
  return {
    currencies,
    mismatchedAccounts,
    balanced: currencies.every((c) => c.balanced) && mismatchedAccounts.length === 0,
  };
}
