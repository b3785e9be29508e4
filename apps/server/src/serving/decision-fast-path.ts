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

  /** Told why, when the route cannot be served by the fast path (installDecisionFastPath logs it). */
  onOff: ((reason: string) => void) | undefined;

  compile(instance: App): void {
    const compiled = compileDecisionRoute(instance, this.routeOptions);
    this.code = typeof compiled === 'string' ? undefined : compiled;
    this.reason = typeof compiled === 'string' ? compiled : undefined;
    if (this.reason !== undefined) this.onOff?.(this.reason);
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

/** What every request of one fast path shares. */
interface Shared {
  readonly service: DecisionService;
  readonly logger: FastifyBaseLogger;
  /** The answer headers in the order the Fastify route sets them; slot 1 takes the request id. */
  readonly base: readonly string[];
  countedFor(status: number): { requests: { inc(): void }; duration: { observe(v: number): void } };
}

export function createDecisionFastPath(options: DecisionFastPathOptions): FastPath {
  const { route, metrics, closing } = options;
  const base: string[] = [];
  for (const [name, value] of Object.entries({ [REQUEST_ID_HEADER]: '', ...options.answerHeaders, ...PUBLIC_CORS })) {
    base.push(name, value);
  }
  // prom-client children per status (label validation once, not per request).
  const counted = new Map<number, { requests: { inc(): void }; duration: { observe(v: number): void } }>();
  const shared: Shared = {
    service: options.service,
    logger: options.logger,
    base,
    countedFor(status) {
      let c = counted.get(status);
      if (!c) {
        const labels = { method: 'POST', route: DECISION_PATH, status: String(status) };
        c = { requests: metrics.requests.labels(labels), duration: metrics.duration.labels(labels) };
        counted.set(status, c);
      }
      return c;
    },
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
    const exchange = new DecisionExchange(shared, code, parse, req, res, length);
    req.on('data', (chunk: Buffer) => exchange.data(chunk));
    req.on('end', () => exchange.end(undefined));
    req.on('error', (err: Error) => exchange.end(err));
    return true;
  };
}

/**
 * One request on the fast path: the body read, parsed, validated, decided and answered. Methods, not closures:
 * fewer allocations per request (and no keep-names wrappers under tsx).
 */
class DecisionExchange {
  private readonly t0 = performance.now();
  private readonly id: string;
  /** The request's child logger when info is on (Fastify's request log lines), else undefined. */
  private readonly log: FastifyBaseLogger | undefined;
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private ended = false;

  constructor(
    private readonly shared: Shared,
    private readonly code: DecisionRouteCode,
    private readonly parse: BodyParser,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly length: number,
  ) {
    this.id = genRequestId(req);
    this.log = levelEnabled(shared.logger, 'info') ? requestLog(shared.logger, this.id, req, DECISION_PATH) : undefined;
  }

  data(chunk: Buffer): void {
    if (this.ended) return;
    this.received += chunk.length;
    this.chunks.push(chunk);
  }

  /** The body's end, or a read error (Fastify's rawBody: 400 unless the error has a 4xx/5xx status). */
  end(err: (Error & { statusCode?: number }) | undefined): void {
    if (this.ended) return;
    this.ended = true;
    try {
      if (err != null) {
        if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
        this.fail(err, true, false);
        return;
      }
      if (this.received !== this.length) {
        this.fail(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), true, false);
        return;
      }
      const { chunks } = this;
      const text =
        chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, this.received).toString('utf8');
      this.parse(this.req, text, (e, value) => this.parsed(e, value));
    } catch (e) {
      this.failedHere(e);
    }
  }

  /** The parser's callback: it must not throw (Fastify's JSON parser would call it again with a parse error). */
  private parsed(err: Error | null, value: unknown): void {
    try {
      if (err != null) this.fail(err, true, false);
      else this.validated(value);
    } catch (e) {
      this.failedHere(e);
    }
  }

  private validated(value: unknown): void {
    // As Fastify's validateParam: Ajv may replace the root value through its parent.
    const holder = { body: value === undefined ? null : value };
    const { validate } = this.code;
    const ok = validate.schemaEnv
      ? validate(holder.body, { parentData: holder, parentDataProperty: 'body' })
      : validate(holder.body);
    if (ok !== true) {
      this.fail({ validation: validate.errors ?? [], validationContext: 'body' }, false, false);
      return;
    }
    const { req } = this;
    // request.ip without a trusted proxy (installDecisionFastPath): the TCP peer.
    publicDecision(
      this.shared.service,
      holder.body as DecisionBody,
      req.socket.remoteAddress,
      req.headers['user-agent'],
    ).then(
      (outcome) => this.answer(outcome),
      (e: unknown) => this.failedHere(e),
    );
  }

  /** Never throws: it runs in a promise callback, where a throw would be an unhandled rejection (the process ends). */
  private answer(outcome: unknown): void {
    let payload: string;
    try {
      const serializer = this.code.serializerFor(200);
      payload = serializer ? serializer(outcome) : JSON.stringify(outcome);
    } catch (err) {
      this.failedHere(err, true);
      return;
    }
    try {
      const h = this.shared.base.slice();
      h[1] = this.id;
      h.push(
        'cache-control',
        'no-store',
        'content-type',
        JSON_ANSWER,
        'content-length',
        String(Buffer.byteLength(payload)),
      );
      this.res.writeHead(200, h);
      this.res.end(payload, () => this.finished(200));
    } catch (err) {
      this.failedHere(err);
    }
  }

  /** The error handler's answer (http/error-handler.ts) to what Fastify would have raised at this step. */
  private fail(err: unknown, closeConnection: boolean, cacheControl: boolean): void {
    const { error, internal } = toMarqueeError(err);
    const status = error.statusCode;
    if (internal) this.logAtLeastWarn().error({ err }, 'unexpected error');
    else if (status >= 500) this.logAtLeastWarn().warn({ err }, error.message);
    else this.log?.info({ code: error.code, status }, error.message);
    const serializer = this.code.serializerFor(status);
    const body = error.toJSON();
    const payload = serializer ? serializer(body) : JSON.stringify(body);
    const h = this.shared.base.slice();
    h[1] = this.id;
    // Fastify closes the connection after a body it could not read or parse (content-type-parser.js).
    if (closeConnection) h.push('connection', 'close');
    if (cacheControl) h.push('cache-control', 'no-store');
    for (const [name, value] of Object.entries(error.headers)) h.push(name, value);
    h.push('content-type', JSON_ANSWER, 'content-length', String(Buffer.byteLength(payload)));
    this.res.writeHead(status, h);
    this.res.end(payload, () => this.finished(status));
  }

  /**
   * A throw on this path (a bug, a validator that throws) or a failed decision: answered as Fastify answers one,
   * 500 and logged. Never throws: if even that answer cannot be written, the connection is dropped.
   */
  private failedHere(e: unknown, cacheControl = false): void {
    try {
      if (this.res.headersSent) this.res.destroy();
      else this.fail(e, false, cacheControl);
    } catch {
      this.res.destroy();
    }
  }

  /** The request's logger for warn and error lines (Fastify's lazy child logger makes its child then too). */
  private logAtLeastWarn(): FastifyBaseLogger {
    return this.log ?? this.shared.logger.child({ requestId: this.id });
  }

  /** Fastify's onResponse: the request metrics and the `request completed` line. */
  private finished(status: number): void {
    const seconds = (performance.now() - this.t0) / 1000;
    const c = this.shared.countedFor(status);
    c.requests.inc();
    c.duration.observe(seconds);
    this.log?.info({ res: { statusCode: status }, responseTime: seconds * 1000 }, 'request completed');
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
  route.onOff = (reason) => app.log.warn({ reason }, 'decision fast path off');
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
