import Fastify, { LogController, type FastifyInstance, type FastifyBaseLogger, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import { ApiError, installErrorHandlers, toApiError } from './errors.js';
import { matchApiKey, presentedKey, type ApiKeyEntry } from './auth.js';
import { sharedSchemas, type RouteContext } from './route.js';

/** Options of {@link createHttpApp}. */
export interface HttpAppOptions {
  logger: FastifyBaseLogger | false;
  version: string;
  bodyLimitBytes: number;
  authEnabled: boolean;
  keys: () => readonly ApiKeyEntry[];
  rateLimitPerMinute: number;
  redact: <T>(value: T) => T;
}

/**
 * Creates the Fastify app with everything routes rely on: the one error body, the OpenAPI 3.1
 * document at `/api/v1/openapi.json` and interactive docs at `/api/v1/docs`, per-key rate
 * limiting, request size limits, and no CORS (browsers on other origins are refused by default).
 * Request validation is done by valibot inside each route (see `addRoute`), not by ajv.
 *
 * @example
 * ```ts
 * const { app, routes } = await createHttpApp({ logger: false, version: '0.1.0', bodyLimitBytes: 1 << 20,
 *   authEnabled: true, keys: () => keys, rateLimitPerMinute: 600, redact: (v) => v });
 * addRoute(app, routes, { ... });
 * ```
 */
export async function createHttpApp(options: HttpAppOptions): Promise<{ app: FastifyInstance; routes: RouteContext }> {
  const app = Fastify({
    ...(options.logger === false ? { logger: false } : { loggerInstance: options.logger }),
    bodyLimit: options.bodyLimitBytes,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { strict: false } },
    // Errors the router raises before any route runs (a malformed URL, a path parameter over
    // maxParamLength) get the one error body as well, not Fastify's default shape.
    frameworkErrors: (error, _request, reply) => {
      const mapped = toApiError(error, options.redact);
      // Typed loosely here: the reply of an unmatched request has no route schema to check against.
      const untyped = reply as unknown as FastifyReply;
      void untyped.status(mapped.status).headers(mapped.headers ?? {}).send(mapped.body);
    },
  });
  // valibot validates inside the handlers; ajv only sees the schemas for the OpenAPI document.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandlers(app, options.redact);
  // The API speaks JSON only: a text/plain body is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain');

  await app.register(rateLimit, {
    global: true,
    max: options.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => {
      const entry = matchApiKey(options.keys(), presentedKey(request));
      return entry ? `key:${entry.name}` : `ip:${request.ip}`;
    },
    // The returned error is thrown and answered by the common error handler.
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, 'SLUICE_ERR_RATE_LIMITED', `rate limit of ${context.max} requests per minute exceeded; retry in ${Math.ceil(context.ttl / 1000)} s`, [], {
        'retry-after': String(Math.ceil(context.ttl / 1000)),
      }),
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Sluice API',
        version: options.version,
        description:
          'Operate Sluice: pipelines, connections, destinations and schedules (versioned), runs, dead letters, checks and dry runs. ' +
          'Every route needs an API key (`Authorization: Bearer <key>`) with the scope it names, unless marked public.',
      },
      servers: [{ url: '/' }],
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from server.apiKeys' } } },
      security: options.authEnabled ? [{ apiKey: [] }] : [],
    },
  });
  app.addHook('onReady', async () => {
    // Definitions shared by route schemas (see jsonSchemaOf) join the document's components.
    const doc = app.swagger() as { components?: { schemas?: Record<string, unknown> } };
    doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, ...Object.fromEntries(sharedSchemas) } };
  });
  await app.register(swaggerUi, { routePrefix: '/api/v1/docs', staticCSP: true });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return { app, routes: { keys: options.keys, authEnabled: options.authEnabled } };
}
