import type { FastifyRequest } from 'fastify';
import { MarqueeError } from '../../errors.ts';

/**
 * The deepest JSON nesting a management body may have. The deepest legitimate one is a line item's
 * targeting tree (8 logical levels, two JSON levels each); this leaves room for validateTargeting to
 * explain "nested deeper than 8" while keeping recursive validators (Ajv follows the TargetingNode
 * $ref recursively) far from the stack limit, where a few thousand levels would crash them.
 */
export const MAX_BODY_DEPTH = 40;

/** Nesting depth of a parsed JSON value, iteratively (no recursion), stopping as soon as `limit` is passed. */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** preValidation hook: refuses absurdly nested bodies before the schema validator walks them. */
export async function refuseDeepBodies(request: FastifyRequest): Promise<void> {
  if (jsonDepthExceeds(request.body, MAX_BODY_DEPTH)) {
    throw new MarqueeError('MQ_ERR_VALIDATION', `The body is nested deeper than ${MAX_BODY_DEPTH} levels`, [
      { path: '', message: `nested deeper than ${MAX_BODY_DEPTH} levels`, code: 'too_deep' },
    ]);
  }
}
