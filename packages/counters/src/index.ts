export * from './frequency-cap-store.ts';
export * from './in-memory-frequency-cap-store.ts';
export * from './redis-frequency-cap-store.ts';
