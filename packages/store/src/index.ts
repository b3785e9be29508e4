export * from './billing-ports.ts';
export { createStore } from './create-store.ts';
export { BadCursorError, BadQueryError } from './errors.ts';
export * from './ports.ts';
export { MAX_LIST_LIMIT } from './postgres-entity-repository.ts';
export { toSafeInteger } from './postgres-rollup-store.ts';
