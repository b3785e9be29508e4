/**
 * Plain `node:http` request handlers in front of Fastify on the same server ("fast paths": the tracking pixels,
 * tracking/pixel-fast-path.ts, and the decision API, serving/decision-fast-path.ts). Each takes only the requests
 * whose answer it can give exactly as Fastify would (status, headers, body, request metrics and log lines) and
 * leaves every other request to Fastify untouched.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { App } from '../deps.ts';
import type { HttpMetrics } from './metrics.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;
/**
 * Handles the request and returns true, or returns false without touching it (then `next`, Fastify, serves
 * it). A request taken may still be handed to `next` later, before anything was read or written.
 */
export type FastPath = (req: IncomingMessage, res: ServerResponse, next: Handler) => boolean;

/** What a fast path needs from the app besides its own service. */
export interface FastPathHttp {
  /** Set by the app's onRequest hook on every answer besides the request id and CORS (security headers, ...). */
  readonly answerHeaders: Readonly<Record<string, string>>;
  readonly metrics: HttpMetrics;
  /** The app's trustProxy option: any value but false leaves every request to Fastify (its address rules). */
  readonly trustProxy: unknown;
}

/** Same as the CORS headers of public paths (http/public-cors.ts). */
export const PUBLIC_CORS: Readonly<Record<string, string>> = { 'access-control-allow-origin': '*', vary: 'Origin' };

/**
 * Fastify's own "closing" flag (set as close() starts, before the preClose hooks): from then on Fastify refuses
 * new requests with 503, and a fast path hands them to it. Undefined when the flag cannot be read (then no fast
 * path is installed and Fastify serves everything, as before).
 */
export function fastifyClosing(app: App): (() => boolean) | undefined {
  const kState = Object.getOwnPropertySymbols(app).find((s) => s.description === 'fastify.state');
  const state = kState ? (app as unknown as Record<symbol, { closing?: boolean } | undefined>)[kState] : undefined;
  if (!state || typeof state.closing !== 'boolean') return undefined;
  return () => state.closing === true;
}

/** pino's level check (Fastify's logger type does not declare it); unknown loggers always log. */
export function levelEnabled(logger: FastifyBaseLogger, level: 'info' | 'warn' | 'error'): boolean {
  const l = logger as unknown as { isLevelEnabled?: (level: string) => boolean };
  return typeof l.isLevelEnabled === 'function' ? l.isLevelEnabled(level) : true;
}

/**
 * The request log of Fastify (requestIdLogLabel `requestId`), for a logger at info: a child logger with the
 * request id, and its `incoming request` line, `req` shaped like the Fastify request its serializer reads.
 */
export function requestLog(
  logger: FastifyBaseLogger,
  id: string,
  req: IncomingMessage,
  url: string,
): FastifyBaseLogger {
  const log = logger.child({ requestId: id });
  log.info(
    {
      req: {
        method: req.method,
        url,
        headers: req.headers,
        host: req.headers.host,
        ip: req.socket.remoteAddress,
        socket: req.socket,
      },
    },
    'incoming request',
  );
  return log;
}

interface Installed {
  readonly paths: FastPath[];
  taken: number;
}
const installed = new WeakMap<Server, Installed>();

/** How many requests the fast paths of this server took (tests: proof that one answered, not Fastify). */
export function fastPathTaken(server: Server): number {
  return installed.get(server)?.taken ?? 0;
}

/**
 * Puts `fastPath` in front of the server's request listeners (Fastify's handler, or a cluster worker's
 * forwarder in front of it), after the fast paths installed before it: a request none takes goes to the
 * listeners unchanged.
 */
export function installFastPath(server: Server, fastPath: FastPath): void {
  const existing = installed.get(server);
  if (existing) {
    existing.paths.push(fastPath);
    return;
  }
  const listeners = server.listeners('request') as Handler[];
  const rest: Handler = (req, res) => {
    for (const l of listeners) l.call(server, req, res);
  };
  const self: Installed = { paths: [fastPath], taken: 0 };
  installed.set(server, self);
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    for (const path of self.paths) {
      let took: boolean;
      try {
        took = path(req, res, rest);
      } catch {
        // A throw here would escape the server's 'request' event and end the process. Unanswered, the request
        // goes to Fastify, which serves it from the start and answers any error.
        took = false;
        if (res.headersSent) {
          res.destroy();
          return;
        }
      }
      if (took) {
        self.taken++;
        return;
      }
    }
    rest(req, res);
  });
}
