/**
 * The one catalogue of errors an HTTP caller can get. Every error body is
 * `{ code, message, details }` where details is a list of `{ path, message, code }`.
 * Codes are never reused; each has one HTTP status. docs/api/errors.md lists them all
 * (a test checks that every code is documented).
 */
export const ERRORS = {
  MQ_ERR_VALIDATION: { status: 400, message: 'The request is not valid' },
  MQ_ERR_MALFORMED_JSON: { status: 400, message: 'The body is not valid JSON' },
  MQ_ERR_BAD_ID: { status: 400, message: 'The id is not a valid Marquee id' },
  MQ_ERR_BAD_CURSOR: { status: 400, message: 'The cursor is not valid' },
  MQ_ERR_UNAUTHENTICATED: { status: 401, message: 'Sign in or send an API key' },
  MQ_ERR_SESSION_EXPIRED: { status: 401, message: 'The session has expired; sign in again' },
  MQ_ERR_BAD_CREDENTIALS: { status: 401, message: 'Wrong email or password' },
  MQ_ERR_BAD_API_KEY: { status: 401, message: 'The API key is not valid, revoked or expired' },
  MQ_ERR_CSRF: { status: 403, message: 'Missing or wrong x-csrf-token header' },
  MQ_ERR_FORBIDDEN: { status: 403, message: 'Your role does not allow this' },
  MQ_ERR_NOT_FOUND: { status: 404, message: 'Not found' },
  MQ_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  MQ_ERR_NOT_ACCEPTABLE: { status: 406, message: 'Not acceptable' },
  MQ_ERR_CONFLICT: { status: 409, message: 'The entity was changed by someone else; reload and retry' },
  MQ_ERR_DUPLICATE: { status: 409, message: 'An entity with this value already exists' },
  MQ_ERR_BODY_TOO_LARGE: { status: 413, message: 'The body is too large' },
  MQ_ERR_URI_TOO_LONG: { status: 414, message: 'The URL is too long' },
  MQ_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type' },
  MQ_ERR_UNPROCESSABLE: { status: 422, message: 'The request breaks a business rule' },
  MQ_ERR_PRECONDITION_REQUIRED: { status: 428, message: 'Send the version you read (If-Match header or `version`)' },
  MQ_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests; slow down' },
  MQ_ERR_INTERNAL: { status: 500, message: 'Internal error' },
  MQ_ERR_UNAVAILABLE: { status: 503, message: 'Not ready' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
  readonly code?: string;
}

/** Thrown by handlers for expected failures; the error handler turns it into the JSON body. */
export class MarqueeError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: readonly ErrorDetail[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    message?: string,
    details: readonly ErrorDetail[] = [],
    headers: Record<string, string> = {},
  ) {
    super(message ?? ERRORS[code].message);
    this.code = code;
    this.statusCode = ERRORS[code].status;
    this.details = details;
    this.headers = headers;
  }

  toJSON(): { code: ErrorCode; message: string; details: readonly ErrorDetail[] } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export const mqError = (code: ErrorCode, message?: string, details?: readonly ErrorDetail[]) =>
  new MarqueeError(code, message, details);
