export * from './billing-gate.ts';
export * from './credit.ts';
export * from './in-memory-ledger.ts';
export * from './journal-entry.ts';
export * from './trial-balance.ts';
export * from './usage-posting.ts';
