export * from './event-codec.ts';
export * from './event-log.ts';
export * from './file-event-log.ts';
export * from './nats-event-log.ts';
export * from './tracking-event.ts';
