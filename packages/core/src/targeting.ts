/**
 * Targeting expressions: a tree of AND / OR / NOT over predicates on request dimensions.
 * The serving side compiles them into an index (packages/decision); here they are only data and rules.
 *
 * Example: line item for US or CA mobile users, not on site X, on sports pages:
 *   { "and": [
 *       { "dimension": "country", "values": ["US", "CA"] },
 *       { "dimension": "device", "values": ["mobile"] },
 *       { "not": { "dimension": "site", "values": ["site_..."] } },
 *       { "dimension": "category", "values": ["IAB17"] } ] }
 */
export const TARGETING_DIMENSIONS = [
  'country', // ISO 3166-1 alpha-2, from the request IP
  'region', // ISO 3166-2 subdivision ("US-CA"), from the request IP
  'device', // device type, see DEVICE_TYPES
  'os', // operating system family, lower case ("ios", "android", "windows", "macos", "linux")
  'browser', // browser family, lower case ("chrome", "safari", "firefox", "edge")
  'site', // site or app id
  'publisher', // publisher id
  'placement', // placement id
  'keyword', // page keywords, lower case
  'kv', // key-values: predicate carries `key`, values are the accepted values
  'category', // IAB content taxonomy ids of the page or app ("IAB17", "IAB17-1")
  'hour', // 0-23 in the line item's time zone
  'weekday', // 0 (Sunday) - 6 in the line item's time zone
  'segment', // first-party audience segment keys
] as const;
export type TargetingDimension = (typeof TARGETING_DIMENSIONS)[number];

export const DEVICE_TYPES = ['desktop', 'mobile', 'tablet', 'ctv', 'console', 'wearable', 'other'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export interface TargetingPredicate {
  readonly dimension: TargetingDimension;
  /** Only for dimension "kv": the key whose value must be one of `values`. */
  readonly key?: string;
  /** The predicate holds when the request's value (or any of its values) is one of these. */
  readonly values: readonly (string | number)[];
}
export interface TargetingAnd {
  readonly and: readonly TargetingNode[];
}
export interface TargetingOr {
  readonly or: readonly TargetingNode[];
}
export interface TargetingNot {
  readonly not: TargetingNode;
}
export type TargetingNode = TargetingPredicate | TargetingAnd | TargetingOr | TargetingNot;

export function isAnd(n: TargetingNode): n is TargetingAnd {
  return 'and' in n;
}
export function isOr(n: TargetingNode): n is TargetingOr {
  return 'or' in n;
}
export function isNot(n: TargetingNode): n is TargetingNot {
  return 'not' in n;
}
export function isPredicate(n: TargetingNode): n is TargetingPredicate {
  return 'dimension' in n;
}

export const TARGETING_MAX_DEPTH = 8;
export const TARGETING_MAX_NODES = 500;
export const TARGETING_MAX_VALUES = 10_000;

/**
 * JSON Schema of a targeting node, registered once as a shared schema so the recursion is
 * documented in OpenAPI; the semantic checks (depth, value ranges) are in validateTargeting.
 */
export const TARGETING_JSON_SCHEMA = {
  $id: 'TargetingNode',
  title: 'TargetingNode',
  description: 'AND / OR / NOT over predicates; a predicate matches when the request value is in `values`.',
  oneOf: [
    {
      type: 'object',
      title: 'TargetingPredicate',
      required: ['dimension', 'values'],
      additionalProperties: false,
      properties: {
        dimension: { type: 'string', enum: [...TARGETING_DIMENSIONS] },
        key: { type: 'string', minLength: 1, maxLength: 64 },
        values: {
          type: 'array',
          minItems: 1,
          maxItems: TARGETING_MAX_VALUES,
          items: { anyOf: [{ type: 'string', minLength: 1, maxLength: 256 }, { type: 'integer' }] },
        },
      },
    },
    {
      type: 'object',
      title: 'TargetingAnd',
      required: ['and'],
      additionalProperties: false,
      properties: { and: { type: 'array', minItems: 1, maxItems: 100, items: { $ref: 'TargetingNode#' } } },
    },
    {
      type: 'object',
      title: 'TargetingOr',
      required: ['or'],
      additionalProperties: false,
      properties: { or: { type: 'array', minItems: 1, maxItems: 100, items: { $ref: 'TargetingNode#' } } },
    },
    {
      type: 'object',
      title: 'TargetingNot',
      required: ['not'],
      additionalProperties: false,
      properties: { not: { $ref: 'TargetingNode#' } },
    },
  ],
} as const;
