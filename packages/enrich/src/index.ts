export * from './geo-locator.ts';
export * from './request-enricher.ts';
export * from './user-agent-parser.ts';
