/**
 * The Fastify options every Marquee HTTP server uses: the single process and the primary (app.ts) and the
 * cluster's serving workers (cluster/worker-app.ts), so validation, request ids, logs and error bodies
 * cannot drift between them.
 */
import { type FastifyBaseLogger, type FastifyServerOptions, LogController } from 'fastify';
import { CONFIG_DEFAULTS, type Config } from '../config.ts';
import { sendError, toMarqueeError } from './error-handler.ts';
import { lazyChildLoggerFactory } from './lazy-request-logger.ts';
import { genRequestId } from './request-id.ts';
import { buildValidator } from './validator-compiler.ts';

export function marqueeFastifyOptions(
  config: Config,
  logger: FastifyBaseLogger,
  trustProxy: FastifyServerOptions['trustProxy'] = config.trustProxy ?? CONFIG_DEFAULTS.trustProxy,
) {
  return {
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    genReqId: genRequestId,
    requestIdHeader: false as const, // genReqId reads and checks the header itself
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    childLoggerFactory: lazyChildLoggerFactory,
    trustProxy,
    return503OnClosing: true,
    // Our factory returns Ajv validators, which Fastify's ajv-compiler typing does not describe.
    schemaController: { compilersFactory: { buildValidator: buildValidator as never } },
    ajv: { customOptions: { removeAdditional: false } },
    // Tracking tokens travel as one path parameter (`/t/click/<token>`, up to ~3 KB with a long landing URL).
    routerOptions: { maxParamLength: 8192 },
    // Errors Fastify raises before routing (bad percent-encoding, over-long params) get our body too.
    frameworkErrors: (err: Error, _request: unknown, reply: Parameters<typeof sendError>[0]) => {
      sendError(reply, toMarqueeError(err).error);
    },
  };
}
