/**
 * One error handler for the whole API: every failure leaves as `{ code, message, details }` with the status
 * of its code in http/errors.ts. Unexpected errors become 500 MQ_ERR_INTERNAL, logged with the stack and
 * never shown to the caller; the database being away becomes 503 MQ_ERR_UNAVAILABLE (database-unavailable.ts).
 */
import { BadQueryError } from '@marquee/store';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../deps.ts';
import { isDatabaseUnavailable } from './database-unavailable.ts';
import { ERRORS, type ErrorCode, type ErrorDetail, MarqueeError } from './errors.ts';
import type { RouteIndex } from './route-index.ts';

interface AjvLikeError {
  instancePath?: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

const PART_NAMES: Record<string, string> = {
  body: 'body',
  querystring: 'query string',
  params: 'path parameters',
  headers: 'headers',
};

/** Ajv errors as details with JSON-pointer paths; the missing or extra property is appended to the path. */
export function validationDetails(errors: readonly AjvLikeError[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let path = e.instancePath ?? '';
    let message = e.message ?? 'is not valid';
    const params = e.params ?? {};
    if (e.keyword === 'required' && typeof params['missingProperty'] === 'string') {
      path += `/${escapePointer(params['missingProperty'])}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') {
      path += `/${escapePointer(params['additionalProperty'])}`;
      message = 'is not an allowed field';
    } else if (e.keyword === 'enum' && Array.isArray(params['allowedValues'])) {
      message = `must be one of: ${params['allowedValues'].map(String).join(', ')}`;
    }
    // allErrors + unions repeat the same complaint; keep the first of each.
    const key = `${path}\u0000${e.keyword}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    details.push({ path, message, code: e.keyword });
  }
  return details;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

const STATUS_TO_CODE: Record<number, ErrorCode> = {
  400: 'MQ_ERR_VALIDATION',
  401: 'MQ_ERR_UNAUTHENTICATED',
  403: 'MQ_ERR_FORBIDDEN',
  404: 'MQ_ERR_NOT_FOUND',
  405: 'MQ_ERR_METHOD_NOT_ALLOWED',
  406: 'MQ_ERR_NOT_ACCEPTABLE',
  409: 'MQ_ERR_CONFLICT',
  413: 'MQ_ERR_BODY_TOO_LARGE',
  414: 'MQ_ERR_URI_TOO_LONG',
  415: 'MQ_ERR_UNSUPPORTED_MEDIA_TYPE',
  422: 'MQ_ERR_UNPROCESSABLE',
  428: 'MQ_ERR_PRECONDITION_REQUIRED',
  429: 'MQ_ERR_RATE_LIMITED',
  503: 'MQ_ERR_UNAVAILABLE',
};

/** Turns anything thrown into a MarqueeError; `internal` is true for bugs (to be logged with the stack). */
export function toMarqueeError(err: unknown): { error: MarqueeError; internal: boolean } {
  if (err instanceof MarqueeError) return { error: err, internal: false };
  if (err instanceof BadQueryError) {
    const path = `/${err.path.replace(/\./g, '/')}`;
    return { error: new MarqueeError(err.code, err.message, [{ path, message: err.message }]), internal: false };
  }
  const e = err as Partial<FastifyError> & { validation?: AjvLikeError[]; validationContext?: string };
  if (Array.isArray(e.validation)) {
    const part = PART_NAMES[e.validationContext ?? 'body'] ?? 'request';
    return {
      error: new MarqueeError('MQ_ERR_VALIDATION', `The ${part} is not valid`, validationDetails(e.validation)),
      internal: false,
    };
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { error: new MarqueeError('MQ_ERR_MALFORMED_JSON'), internal: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        error: new MarqueeError('MQ_ERR_MALFORMED_JSON', 'The body is empty but the content type is JSON'),
        internal: false,
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: new MarqueeError('MQ_ERR_BODY_TOO_LARGE'), internal: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        error: new MarqueeError('MQ_ERR_UNSUPPORTED_MEDIA_TYPE', 'Unsupported content type; send application/json'),
        internal: false,
      };
  }
  // A JSON parse error from a custom parser (or secure-json-parse) without a Fastify code.
  if (err instanceof SyntaxError && e.statusCode === 400) {
    return { error: new MarqueeError('MQ_ERR_MALFORMED_JSON'), internal: false };
  }
  // The database away (a relay cut, PostgreSQL restarting) is temporary: 503 with a retry hint, not a bug.
  if (isDatabaseUnavailable(err)) {
    return {
      error: new MarqueeError(
        'MQ_ERR_UNAVAILABLE',
        'A backing service (the database) is not answering; retry shortly',
        [],
        {
          'retry-after': '5',
        },
      ),
      internal: false,
    };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  const mapped = STATUS_TO_CODE[status];
  if (status >= 400 && status < 500 && mapped) {
    // Framework and plugin 4xx messages describe the request, not our internals.
    return { error: new MarqueeError(mapped, e.message || ERRORS[mapped].message), internal: false };
  }
  if (status === 503) return { error: new MarqueeError('MQ_ERR_UNAVAILABLE'), internal: false };
  return { error: new MarqueeError('MQ_ERR_INTERNAL'), internal: true };
}

export function sendError(reply: FastifyReply, error: MarqueeError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send(error.toJSON());
}

export function registerErrorHandlers(app: App, routes: RouteIndex): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { error, internal } = toMarqueeError(err);
    if (internal) request.log.error({ err }, 'unexpected error');
    else if (error.statusCode >= 500) request.log.warn({ err }, error.message);
    else request.log.info({ code: error.code, status: error.statusCode }, error.message);
    return sendError(reply, error);
  });

  app.setNotFoundHandler((request, reply) => {
    const allowed = routes.allowedMethods(request.url);
    // A route that exists for this very method but found nothing (a missing static file) is a 404, not a 405.
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      reply.header('allow', allowed.join(', '));
      return sendError(
        reply,
        new MarqueeError(
          'MQ_ERR_METHOD_NOT_ALLOWED',
          `${request.method} is not allowed here; use ${allowed.join(', ')}`,
        ),
      );
    }
    return sendError(
      reply,
      new MarqueeError(
        'MQ_ERR_NOT_FOUND',
        `No route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}`,
      ),
    );
  });
}
