export * from './aggregate-events.ts';
export * from './delivery.ts';
export * from './recent-event-ids.ts';
export * from './report-format.ts';
export * from './report-request.ts';
export * from './report-service.ts';
export * from './rollup-consumer.ts';
