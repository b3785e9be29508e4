/**
 * Errors the store throws for bad input a caller passed through (never for expected outcomes, which
 * are values such as `{ kind: 'conflict' }`). `code` is the HTTP error catalogue's code, so the HTTP
 * layer maps them with `mqError(err.code, err.message)`.
 */
export class BadQueryError extends Error {
  readonly code: 'MQ_ERR_VALIDATION' | 'MQ_ERR_BAD_CURSOR' = 'MQ_ERR_VALIDATION';
  /** The query parameter at fault, e.g. "filters.color", "sort", "limit". */
  readonly path: string;
  constructor(message: string, path: string) {
    super(message);
    this.name = 'BadQueryError';
    this.path = path;
  }
}

/** The cursor was not produced by this store for this query (tampered, truncated, other sort). */
export class BadCursorError extends BadQueryError {
  override readonly code = 'MQ_ERR_BAD_CURSOR' as const;
  constructor(message = 'The cursor is not valid') {
    super(message, 'cursor');
    this.name = 'BadCursorError';
  }
}
