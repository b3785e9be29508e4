/**
 * OpenAPI 3.1 generated from the route schemas (@fastify/swagger), served at GET /api/openapi.json,
 * with a browsable page at /api/docs (@fastify/swagger-ui).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { RouteOptions } from 'fastify';
import type { App } from '../deps.ts';
import { SESSION_COOKIE } from './auth/session-cookie.ts';
import { ErrorResponse } from './schemas.ts';

export const OPENAPI_PATH = '/api/openapi.json';
export const DOCS_PREFIX = '/api/docs';

/**
 * onRoute hook: every documented route also documents the error body for 4xx and 5xx, so clients
 * generated from the document know the shape of every failure.
 */
export function addErrorResponses(route: RouteOptions): void {
  const schema = (route.schema ?? {}) as { hide?: boolean; response?: Record<string, unknown> };
  if (schema.hide || route.url.startsWith(DOCS_PREFIX)) return;
  const response = { ...(schema.response ?? {}) };
  if (!Object.keys(response).some((k) => k.startsWith('4'))) response['4xx'] = ErrorResponse;
  else if (!response['4xx']) response['4xx'] = ErrorResponse;
  if (!response['5xx']) response['5xx'] = ErrorResponse;
  route.schema = { ...schema, response } as RouteOptions['schema'];
}

export async function registerOpenApi(app: App, publicUrl: string, version: string, secure: boolean): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Marquee API',
        version,
        description:
          'Management API of the Marquee ad server. Every error has the shape `{ code, message, details }` ' +
          '(codes in docs/api/errors.md). Authenticate with the session cookie (plus the `x-csrf-token` ' +
          'header on writes) or with `Authorization: Bearer mq_...` API keys.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: mq_...' },
        },
      },
    },
    // Shared schemas (addSchema with an $id) become components named by their $id.
    refResolver: {
      buildLocalReference(json, _baseUri, _fragment, i) {
        return typeof json['$id'] === 'string' ? json['$id'] : `def-${i}`;
      },
    },
  });

  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    staticCSP: true,
    // The page's default policy upgrades to https, which breaks plain-http installs (http://localhost:8080).
    transformStaticCSP: (header) => (secure ? header : header.replace(/\s*upgrade-insecure-requests;?/, '')),
    uiConfig: { deepLinking: true, persistAuthorization: false },
  });

  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
}
