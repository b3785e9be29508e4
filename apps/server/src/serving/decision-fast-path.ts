/**
 * The lean serving path of the decision API: `POST /v1/decisions` answered by a plain `node:http` request
 * handler in front of Fastify on the same server (http/fast-path.ts), with the answer the Fastify route gives:
 * the same body parser (Fastify's secure-json-parse for JSON, the route's parser for text/plain), the same Ajv
 * validator and fast-json-stringify serializers (compiled by the route's own compilers from the route's own
 * schemas once the app is ready), the same handler (`publicDecision`), the same error bodies
 * (`toMarqueeError`), headers, request metrics and log lines.
 *
 * Taken: exactly `POST /v1/decisions` (no query string) with a JSON or text/plain content type of the usual
 * spellings and a `content-length` between 1 and the route's body limit, no transfer or content encoding.
 * Everything else goes to Fastify untouched, before a byte of the body is read: other methods, paths and
 * content types, chunked or empty or oversized bodies, a closing server (Fastify's 503), a trusted proxy
 * (Fastify's address rules, see installDecisionFastPath).
 *
 * Once the body is read it cannot be handed back, so what goes wrong after that is answered here as Fastify
 * would: malformed JSON and forbidden `__proto__` / `constructor.prototype` keys (400 MQ_ERR_MALFORMED_JSON
 * with `connection: close`, as Fastify closes after a body it could not parse), schema violations (400
 * MQ_ERR_VALIDATION with the validator's details), `explain` (400, the route's refusal), a failing decision (500
 * MQ_ERR_INTERNAL, logged with the stack).
 *
 * Why: Fastify's request and reply objects, hook runners, content-type parser machinery and reply pipeline
 * cost a large part of a decision's CPU (docs/performance.md, "Decision API over HTTP").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { errorCodes, type FastifyBaseLogger } from 'fastify';
import type { App } from '../deps.ts';
import { toMarqueeError } from '../http/error-handler.ts';
import {
  type FastPath,
  type FastPathHttp,
  fastifyClosing,
  installFastPath,
  levelEnabled,
  PUBLIC_CORS,
  requestLog,
} from '../http/fast-path.ts';
import type { HttpMetrics } from '../http/metrics.ts';
import { genRequestId, REQUEST_ID_HEADER } from '../http/request-id.ts';
import type { DecisionBody, DecisionService } from './decision-service.ts';
import { DECISION_BODY_LIMIT, DECISION_PATH, parseTextPlainJson, publicDecision } from './serving-routes.ts';

type Done = (err: Error | null, value: unknown) => void;
type BodyParser = (req: unknown, body: string, done: Done) => void;
type Serializer = (payload: unknown) => string;
/** An Ajv validate function as Fastify calls it (validation.js: validateParam). */
interface BodyValidator {
  (data: unknown, ctx?: { parentData: object; parentDataProperty: string }): unknown;
  errors?: unknown[] | null;
  schemaEnv?: unknown;
  $async?: boolean;
}

/** What the fast path runs, compiled from the Fastify route. */
export interface DecisionRouteCode {
  readonly validate: BodyValidator;
  /** Fastify's JSON parser with the app's poisoning options (secure-json-parse). */
  readonly parseJson: BodyParser;
  /** The serializer Fastify picks for an answer of this status, or undefined: JSON.stringify. */
  serializerFor(status: number): Serializer | undefined;
}

const LIFECYCLE_HOOKS = [
  'onRequest',
  'preParsing',
  'preValidation',
  'preHandler',
  'preSerialization',
  'onSend',
  'onResponse',
  'onError',
  'onTimeout',
  'onRequestAbort',
] as const;

/**
 * Filled by the serving routes: the route's options (from an onRoute hook, after the app's own) and, once the
 * app is ready, the compiled code. `code` stays undefined (the fast path then takes nothing) if the route has
 * anything the fast path does not reproduce: route-level hooks (a rate limit), per-content-type schemas, an
 * asynchronous validator, its own compilers.
 */
export class DecisionRouteHolder {
  routeOptions: object | undefined;
  code: DecisionRouteCode | undefined;
  reason: string | undefined;

  compile(instance: App): void {
    const compiled = compileDecisionRoute(instance, this.routeOptions);
    this.code = typeof compiled === 'string' ? undefined : compiled;
    this.reason = typeof compiled === 'string' ? compiled : undefined;
  }
}

/** The route's code as Fastify compiled it, or why the fast path cannot reproduce the route. */
function compileDecisionRoute(instance: App, routeOptions: object | undefined): DecisionRouteCode | string {
  const route = routeOptions as
    | (Record<string, unknown> & {
        schema?: { body?: object; response?: Record<string, object> };
        config?: { rateLimit?: unknown };
      })
    | undefined;
  const schema = route?.schema;
  if (!route || !schema?.body || !schema.response) return 'route not found';
  for (const hook of LIFECYCLE_HOOKS) if (route[hook] !== undefined) return `route-level ${hook} hook`;
  if (route['validatorCompiler'] || route['serializerCompiler'] || route['schemaErrorFormatter']) {
    return 'route-level compilers';
  }
  if (route['attachValidation'] === true || route['logLevel'] || route['logSerializers']) {
    return 'route-level validation or log options';
  }
  if ('content' in schema.body) return 'per-content-type body schema';
  const { validatorCompiler, serializerCompiler } = instance;
  if (!validatorCompiler || !serializerCompiler) return 'compilers not set up';
  if (route['bodyLimit'] !== DECISION_BODY_LIMIT) return 'another body limit';
  const validate = validatorCompiler({
    schema: schema.body,
    method: 'POST',
    url: DECISION_PATH,
    httpPart: 'body',
  }) as unknown as BodyValidator;
  if (typeof validate !== 'function' || validate.$async === true) return 'not a synchronous validator';
  const serializers = new Map<string, Serializer>();
  for (const [status, responseSchema] of Object.entries(schema.response)) {
    if ('content' in responseSchema) return 'per-content-type response schema';
    serializers.set(
      status.toLowerCase(),
      serializerCompiler({
        schema: responseSchema,
        method: 'POST',
        url: DECISION_PATH,
        httpStatus: status.toLowerCase(),
      }) as Serializer,
    );
  }
  const { onProtoPoisoning, onConstructorPoisoning } = instance.initialConfig;
  const parseJson = instance.getDefaultJsonParser(
    onProtoPoisoning ?? 'error',
    onConstructorPoisoning ?? 'error',
  ) as unknown as BodyParser;
  return {
    validate,
    parseJson,
    // As Fastify's getSchemaSerializer: the status, its class ('4xx'), 'default'.
    serializerFor: (status) =>
      serializers.get(String(status)) ?? serializers.get(`${String(status)[0]}xx`) ?? serializers.get('default'),
  };
}

export interface DecisionFastPathOptions {
  readonly service: DecisionService;
  readonly route: DecisionRouteHolder;
  /** Headers the app's onRequest hook sets on every answer (security headers, the cluster worker's id). */
  readonly answerHeaders: Readonly<Record<string, string>>;
  readonly metrics: HttpMetrics;
  /** The app's logger (app.log: Fastify's serializers), for the request log lines. */
  readonly logger: FastifyBaseLogger;
  /** True once the app is closing: new requests then go to Fastify, which refuses them with its 503. */
  readonly closing: () => boolean;
}

/** The content types taken, as clients spell them (the tag sends text/plain, fetch adds `;charset=UTF-8`). */
const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);
const TEXT_TYPES = new Set([
  'text/plain',
  'text/plain;charset=UTF-8',
  'text/plain; charset=UTF-8',
  'text/plain;charset=utf-8',
  'text/plain; charset=utf-8',
]);
const JSON_ANSWER = 'application/json; charset=utf-8';
/** A content-length of plain digits (no sign, spaces or leading zero). */
const LENGTH = /^[1-9][0-9]{0,5}$/;

export function createDecisionFastPath(options: DecisionFastPathOptions): FastPath {
  const { service, route, metrics, logger, closing } = options;
  // The answer headers in the order the Fastify route sets them; slot 1 takes the request id.
  const base: string[] = [];
  for (const [name, value] of Object.entries({ [REQUEST_ID_HEADER]: '', ...options.answerHeaders, ...PUBLIC_CORS })) {
    base.push(name, value);
  }
  // prom-client children per status (label validation once, not per request).
  const counted = new Map<number, { requests: { inc(): void }; duration: { observe(v: number): void } }>();
  const countedFor = (status: number) => {
    let c = counted.get(status);
    if (!c) {
      const labels = { method: 'POST', route: DECISION_PATH, status: String(status) };
      c = { requests: metrics.requests.labels(labels), duration: metrics.duration.labels(labels) };
      counted.set(status, c);
    }
    return c;
  };

  return (req, res) => {
    if (req.method !== 'POST' || req.url !== DECISION_PATH) return false;
    const code = route.code;
    if (code === undefined) return false;
    const headers = req.headers;
    const type = headers['content-type'];
    if (type === undefined) return false;
    const parse = JSON_TYPES.has(type) ? code.parseJson : TEXT_TYPES.has(type) ? parseTextPlainJson : undefined;
    if (parse === undefined) return false;
    const lengthHeader = headers['content-length'];
    if (lengthHeader === undefined || !LENGTH.test(lengthHeader)) return false;
    const length = Number(lengthHeader);
    if (length > DECISION_BODY_LIMIT) return false;
    if (headers['transfer-encoding'] !== undefined || headers['content-encoding'] !== undefined) return false;
    if (closing()) return false;
    serve(req, res, code, parse, length);
    return true;
  };

  function serve(
    req: IncomingMessage,
    res: ServerResponse,
    code: DecisionRouteCode,
    parse: BodyParser,
    length: number,
  ): void {
    const t0 = performance.now();
    const id = genRequestId(req);
    const log = levelEnabled(logger, 'info') ? requestLog(logger, id, req, DECISION_PATH) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;

    const finished = (status: number) => () => {
      const seconds = (performance.now() - t0) / 1000;
      const c = countedFor(status);
      c.requests.inc();
      c.duration.observe(seconds);
      log?.info({ res: { statusCode: status }, responseTime: seconds * 1000 }, 'request completed');
    };

    /** The error handler's answer (http/error-handler.ts) to what Fastify would have raised at this step. */
    const fail = (err: unknown, closeConnection: boolean, cacheControl: boolean): void => {
      const { error, internal } = toMarqueeError(err);
      const status = error.statusCode;
      if (internal) (log ?? logger.child({ requestId: id })).error({ err }, 'unexpected error');
      else if (status >= 500) (log ?? logger.child({ requestId: id })).warn({ err }, error.message);
      else log?.info({ code: error.code, status }, error.message);
      const serializer = code.serializerFor(status);
      const body = error.toJSON();
      const payload = serializer ? serializer(body) : JSON.stringify(body);
      const h = base.slice();
      h[1] = id;
      // Fastify closes the connection after a body it could not read or parse (content-type-parser.js).
      if (closeConnection) h.push('connection', 'close');
      if (cacheControl) h.push('cache-control', 'no-store');
      for (const [name, value] of Object.entries(error.headers)) h.push(name, value);
      h.push('content-type', JSON_ANSWER, 'content-length', String(Buffer.byteLength(payload)));
      res.writeHead(status, h);
      res.end(payload, finished(status));
    };

    const answer = (outcome: unknown): void => {
      let payload: string;
      try {
        const serializer = code.serializerFor(200);
        payload = serializer ? serializer(outcome) : JSON.stringify(outcome);
      } catch (err) {
        fail(err, false, true);
        return;
      }
      const h = base.slice();
      h[1] = id;
      h.push(
        'cache-control',
        'no-store',
        'content-type',
        JSON_ANSWER,
        'content-length',
        String(Buffer.byteLength(payload)),
      );
      res.writeHead(200, h);
      res.end(payload, finished(200));
    };

    const decideValid = (value: unknown): void => {
      // As Fastify's validateParam: Ajv may replace the root value through its parent.
      const holder = { body: value === undefined ? null : value };
      const { validate } = code;
      const ok = validate.schemaEnv
        ? validate(holder.body, { parentData: holder, parentDataProperty: 'body' })
        : validate(holder.body);
      if (ok !== true) {
        fail({ validation: validate.errors ?? [], validationContext: 'body' }, false, false);
        return;
      }
      // request.ip without a trusted proxy (installDecisionFastPath): the TCP peer.
      publicDecision(service, holder.body as DecisionBody, req.socket.remoteAddress, req.headers['user-agent']).then(
        answer,
        (e: unknown) => fail(e, false, false),
      );
    };
    /** The parser's callback: it must not throw (Fastify's JSON parser would call it again with a parse error). */
    const parsed: Done = (err, value) => {
      try {
        if (err != null) fail(err, true, false);
        else decideValid(value);
      } catch (e) {
        failedHere(e);
      }
    };
    /** A throw on this path (a bug, or a validator that throws): answered as Fastify answers one, 500 and logged. */
    const failedHere = (e: unknown): void => {
      if (res.headersSent) res.destroy();
      else fail(e, false, false);
    };

    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = (err?: Error & { statusCode?: number }): void => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onEnd);
      try {
        if (err != null) {
          if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
          fail(err, true, false);
          return;
        }
        if (received !== length) {
          fail(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), true, false);
          return;
        }
        const text =
          chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, received).toString('utf8');
        parse(req, text, parsed);
      } catch (e) {
        failedHere(e);
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onEnd);
  }
}

/**
 * Installs the decision fast path in front of the app's server, unless Fastify's client address rules apply
 * (a trusted proxy: request.ip is then not the TCP peer) or its closing state cannot be read.
 */
export function installDecisionFastPath(
  app: App,
  service: DecisionService,
  http: FastPathHttp,
  route: DecisionRouteHolder,
): void {
  if (http.trustProxy !== false) return;
  const closing = fastifyClosing(app);
  if (!closing) {
    app.log.warn('decision fast path off: Fastify state not readable');
    return;
  }
  app.addHook('onReady', async () => {
    if (!route.code) app.log.warn({ reason: route.reason }, 'decision fast path off');
  });
  installFastPath(
    app.server,
    createDecisionFastPath({
      service,
      route,
      answerHeaders: http.answerHeaders,
      metrics: http.metrics,
      logger: app.log,
      closing,
    }),
  );
}
