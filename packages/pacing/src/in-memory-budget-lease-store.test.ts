import { runBudgetLeaseStoreContract } from './budget-lease-store.contract.ts';
import { InMemoryBudgetLeaseStore } from './in-memory-budget-lease-store.ts';

let current: InMemoryBudgetLeaseStore;
runBudgetLeaseStoreContract('in memory', {
  async create() {
    current = new InMemoryBudgetLeaseStore({ leaseTtlMs: 30_000, holdMs: 120_000 });
    return current;
  },
  // One process: every worker shares the object.
  async client() {
    return current;
  },
});
