/**
 * `POST /v1/decisions` answered straight from node:http, in front of Fastify (wired through Fastify's
 * `serverFactory`), for the one case that is the product's hot path: a well-formed decision request.
 *
 * Why: Fastify's per-request machinery (routing, the hook runners, the content-type parser, the child logger,
 * reply and serializer) was about a fifth of the decision API's CPU in a profile (docs/performance.md). This
 * handler does the same work in line: the same compiled schema validates the body, the same headers are set
 * (request id, security headers, CORS, cache-control), the same metrics are counted.
 *
 * Everything else is Fastify's: requests it does not recognise are handed over untouched before any byte of
 * the body is read (other routes, other methods, preflights, unsupported content types, bodies over the limit or
 * without a length, a server that is closing), and a request whose body turns out not to be a plain valid
 * decision request (bad JSON, a schema error, `explain`, prototype keys, escapes it does not inspect, an
 * exception) is replayed through Fastify with its body (`app.inject`), so 4xx/5xx bodies, logs and metrics are
 * exactly those of the Fastify route. Only the happy path is hand-rolled.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpMetrics } from '../http/metrics.ts';
import { genRequestId, REQUEST_ID_HEADER } from '../http/request-id.ts';
import type { DecisionBody, DecisionService } from './decision-service.ts';

export const DECISIONS_PATH = '/v1/decisions';

export interface DecisionFastPathDeps {
  readonly service: DecisionService;
  /** The compiled DecisionRequest validator (the route's own compiler, so the same defaults are applied). */
  readonly validate: (body: unknown) => boolean;
  /** Headers every Marquee answer carries: the security headers and the public CORS headers. */
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyLimit: number;
  readonly trustProxy: boolean;
  readonly metrics: HttpMetrics;
  /** Whether the server is closing (then Fastify answers, with its 503). */
  readonly closing: () => boolean;
  /** Replays a request whose body was read through Fastify and writes its answer to `res`. */
  readonly replay: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
  readonly onError: (err: unknown, what: string) => void;
}

const JSON_OR_TEXT = /^(application\/json|text\/plain)\s*(;\s*charset=utf-8\s*)?$/i;
/** Keys and escapes secure-json-parse would refuse or that could spell them: left to Fastify's parser. */
const SUSPICIOUS = /__proto__|constructor|\\u/;

/** How many requests the fast path answered itself and how many it read and replayed through the route. */
export interface FastPathStats {
  answered: number;
  replayed: number;
}

export type DecisionFastPath = ((req: IncomingMessage, res: ServerResponse) => boolean) & {
  readonly stats: FastPathStats;
};

/** Returns a node:http handler that answers what it can and returns false for everything Fastify must see. */
export function createDecisionFastPath(given: DecisionFastPathDeps): DecisionFastPath {
  const stats: FastPathStats = { answered: 0, replayed: 0 };
  const deps: DecisionFastPathDeps = {
    ...given,
    replay: (req, body, res) => {
      stats.replayed++;
      given.replay(req, body, res);
    },
  };
  const { service, metrics } = deps;
  const labels = { method: 'POST', route: DECISIONS_PATH, status: '200' } as const;

  const answer = (req: IncomingMessage, res: ServerResponse, body: Buffer, started: bigint): void => {
    const parsed = plainDecisionRequest(body, deps.validate);
    if (!parsed) {
      deps.replay(req, body, res);
      return;
    }
    const ua = req.headers['user-agent'];
    service.decide(parsed, { ip: clientIp(req, deps.trustProxy), userAgent: ua }).then(
      (outcome) => {
        const json = JSON.stringify(outcome);
        res.writeHead(200, {
          ...deps.headers,
          [REQUEST_ID_HEADER]: genRequestId(req),
          'cache-control': 'no-store',
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(json),
        });
        res.end(json);
        stats.answered++;
        metrics.requests.inc(labels);
        metrics.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      },
      (err) => {
        // The route would have answered from its error handler: let it (it logs and counts the error).
        deps.onError(err, 'decision fast path failed; replayed through the route');
        deps.replay(req, body, res);
      },
    );
  };

  const handler = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST' || req.url !== DECISIONS_PATH || deps.closing()) return false;
    const type = req.headers['content-type'];
    const length = Number(req.headers['content-length']);
    if (
      typeof type !== 'string' ||
      !JSON_OR_TEXT.test(type) ||
      !(length > 0 && length <= deps.bodyLimit) ||
      req.headers['content-encoding'] !== undefined ||
      req.headers['transfer-encoding'] !== undefined
    ) {
      return false;
    }
    const started = process.hrtime.bigint();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      try {
        answer(req, res, body, started);
      } catch (err) {
        deps.onError(err, 'decision fast path failed; replayed through the route');
        deps.replay(req, body, res);
      }
    });
    return true;
  };
  return Object.assign(handler, { stats });
}

/** The body as a valid decision request without `explain`, or undefined for anything the route must judge. */
function plainDecisionRequest(body: Buffer, validate: (body: unknown) => boolean): DecisionBody | undefined {
  const text = body.toString('utf8');
  if (SUSPICIOUS.test(text)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!validate(parsed) || (parsed as DecisionBody).explain) return undefined;
  return parsed as DecisionBody;
}

/** The client address as Fastify computes `request.ip`: the socket, or with trustProxy the first forwarded one. */
function clientIp(req: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    if (typeof xff === 'string' && xff !== '') return xff.split(',')[0]!.trim();
  }
  return req.socket.remoteAddress;
}

/** Hop-by-hop headers of an injected answer that the real connection sets for itself. */
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date']);

/** Copies an injected answer (light-my-request) onto the real response. */
export function writeInjected(
  res: ServerResponse,
  injected: { statusCode: number; headers: Record<string, unknown>; rawPayload: Buffer },
): void {
  const headers: Record<string, string | string[] | number> = {};
  for (const [name, value] of Object.entries(injected.headers)) {
    if (!HOP.has(name) && value !== undefined) headers[name] = value as string | string[] | number;
  }
  res.writeHead(injected.statusCode, headers);
  res.end(injected.rawPayload);
}
