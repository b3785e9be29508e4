import { describe, expect, it } from 'vitest';
import type { DecisionBody } from './decision-service.ts';
import { toCoreRequest } from './decision-service.ts';

const enrichment = { country: 'GB', region: undefined, device: 'desktop', os: undefined, browser: undefined };

describe('toCoreRequest', () => {
  it('keeps a "__proto__" key-value a plain key: the prototype of kv is never replaced', () => {
    // What JSON.parse gives for {"kv":{"__proto__":["x"],"Section":"sport"}} (the text/plain body parser).
    const body = JSON.parse('{"placements":[{"id":"p"}],"kv":{"__proto__":["x"],"Section":"sport"}}') as DecisionBody;
    const kv = toCoreRequest(body, enrichment, undefined).kv!;
    expect(Object.getPrototypeOf(kv)).toBeNull();
    const keys: string[] = [];
    for (const key in kv) keys.push(key);
    expect(keys).toEqual(['__proto__', 'section']);
    expect(Object.getOwnPropertyDescriptor(kv, '__proto__')?.value).toEqual(['x']);
  });
});
