export * from './budget-lease-store.ts';
export * from './budget-pacing.ts';
export * from './in-memory-budget-lease-store.ts';
export * from './leased-budget-gate.ts';
export * from './pacing-controller.ts';
export * from './pacing-plan.ts';
export * from './redis-budget-lease-store.ts';
export * from './traffic-curve.ts';
