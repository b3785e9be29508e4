export * from './budget-lease-store.ts';
export * from './in-memory-budget-lease-store.ts';
export * from './redis-budget-lease-store.ts';
