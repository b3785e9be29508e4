export * from './aggregate-events.ts';

export * from './recent-event-ids.ts';

export * from './rollup-consumer.ts';
