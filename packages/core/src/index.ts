export * from './entities.ts';
export * from './ids.ts';
export * from './money.ts';
export * from './targeting.ts';
export * from './validation.ts';
