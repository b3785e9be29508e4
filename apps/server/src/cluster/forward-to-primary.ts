/**
 * A worker forwards what it does not serve itself (management API, dashboard, asset files, OpenAPI, sign-in,
 * batch ingestion, conversions, metrics) to the primary's loopback port: a streaming proxy on node:http,
 * bodies piped both ways (the primary applies its own body limits), the request id kept (one is made here
 * when the client sent none, so both processes log the same id), the client's address passed in
 * X-Forwarded-For (the primary trusts loopback only). The primary away: 503 with our error body.
 */
import { Agent, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { MarqueeError } from '../http/errors.ts';
import { genRequestId, REQUEST_ID_HEADER } from '../http/request-id.ts';

// Hop-by-hop headers (RFC 9110 7.6.1) are the connection's, not the request's.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface ForwardOptions {
  /** The primary's internal port on 127.0.0.1. */
  readonly port: number;
  /** Keep the client's X-Forwarded-For chain (config trustProxy); otherwise the socket's address replaces it. */
  readonly trustProxy: boolean;
  /** Added to every response (which worker answered). */
  readonly workerId: string;
}

export function createForwarder(options: ForwardOptions) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const unavailable = (res: ServerResponse, requestId: string) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify(
      new MarqueeError('MQ_ERR_UNAVAILABLE', 'The management server is not reachable; retry').toJSON(),
    );
    res.writeHead(503, {
      'content-type': 'application/json; charset=utf-8',
      'retry-after': '1',
      [REQUEST_ID_HEADER]: requestId,
      'x-marquee-worker': options.workerId,
    });
    res.end(body);
  };

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = genRequestId(req);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    headers[REQUEST_ID_HEADER] = requestId;
    const client = req.socket.remoteAddress ?? '';
    const chain = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = options.trustProxy && typeof chain === 'string' ? `${chain}, ${client}` : client;
    if (!options.trustProxy) delete headers['x-forwarded-proto'];

    const upstream = request(
      { host: '127.0.0.1', port: options.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
        }
        out['x-marquee-worker'] = options.workerId;
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => unavailable(res, requestId));
    // The client went away: stop the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };
  return { forward, close: () => agent.destroy() };
}
