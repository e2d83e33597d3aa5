import { errorCatalog, formatErrorMessage } from '@sluice/core';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyBaseLogger,
  type FastifyReply,
} from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import { ApiError, installErrorHandlers, toApiError } from './errors.js';
import { requestKey, type ApiKeyEntry } from './auth.js';
import { clientAddress, closeUnreadBodies } from './limits.js';
import { sharedSchemas, type RouteContext } from './route.js';

/** Longest path parameter the router accepts: the longest name or id any route takes (128). */
export const MAX_PARAM_LENGTH = 128;

/** The introduction of the OpenAPI document (and of docs/api.md): auth, limits, errors. */
const API_DESCRIPTION = [
  'Operate Sluice: pipelines, connections, destinations and schedules (versioned), runs, dead letters, checks and dry runs. ' +
    'Every route needs an API key (`Authorization: Bearer <key>`) with the scope it names, unless marked public.',
  '**Before the body.** The API key and its scope, the path parameters and the query are checked from the request head, before a byte of the body is read: ' +
    'a missing or bad key is a `401` whatever the body. `/webhooks/{pipeline}` answers an unknown pipeline (or one without a webhook trigger) with `404`, ' +
    "and a `Content-Length` over the pipeline's `webhook.maxBytes` with `413`, the same way. " +
    'A response sent before its request body arrived closes the connection (`Connection: close`), so the rest of that body is never read.',
  "**Body limits.** API routes accept bodies up to `server.bodyLimitBytes` (default 1 MiB); a webhook, up to its pipeline's `webhook.maxBytes` (default 1 MiB, at most 64 MiB), " +
    'counted while the body streams: past the limit the server stops reading and answers `413`. Larger bodies are never buffered.',
  '**Rate limits.** Each budget is `server.rateLimit.perMinute` requests a minute (default 600); beyond it the answer is `429` with `Retry-After`. ' +
    "Budgets: one per valid API key; one per client address for requests without a valid key (a flood of bad keys exhausts only its own budget, never a valid key's); " +
    '`/metrics` one per client address, apart from API traffic; `/healthz` and `/readyz` are never limited. ' +
    'Webhooks are not limited with the API: each pipeline accepts that many new deliveries a minute, and each sender address may send a pipeline that many deliveries ' +
    'a minute that start no run (refused: a bad signature, stale, too large, a bad payload; or a duplicate) before its requests to that pipeline get `429`, so forged ' +
    'or replayed deliveries cannot starve signed ones. ' +
    "The client address is the connection's peer (IPv6 by its /64); behind a reverse proxy, every client shares the proxy's address.",
  '**Errors.** Every failure has the body `{ "error": { "code", "message", "details" } }` with a `SLUICE_ERR_*` code. ' +
    '`400`: invalid input, each bad field named in `details[].path` (`params.id`, `query.limit`, `body.routes[0].name`), including control characters in ' +
    'path parameters and query values, integers out of range, NUL characters and unpaired surrogates in body strings, and the keys `__proto__` and ' +
    '`constructor.prototype`, refused by the JSON parser against prototype poisoning (`' +
    errorCatalog.forbiddenKey.code +
    '`); `401` a missing or unknown key; ' +
    '`403` a key without the scope; `404` not found; `409` a conflict with the current state; `413` a body over its limit; `414` a path parameter over 128 characters; ' +
    '`415` a body that is not JSON; `422` a request the engine cannot carry out; `429` over a rate limit; `503` not ready or a retryable failure (with `Retry-After` when known). ' +
    'A `500` is a bug: its message says only "internal error; see the server log".',
].join('\n\n');

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
 * document at `/api/v1/openapi.json` and interactive docs at `/api/v1/docs`, rate limiting (a
 * budget per valid key, one per address for everything else; routes may opt out or bring their
 * own), request size limits, connections closed rather than drained when a body is refused
 * unread, a JSON parser whose errors name the cause, and no CORS (browsers on other origins are
 * refused by default). Request validation is done by valibot in each route (see `addRoute`), not by ajv.
 *
 * @example
 * ```ts
 * const { app, routes } = await createHttpApp({ logger: false, version: '0.1.0', bodyLimitBytes: 1 << 20,
 *   authEnabled: true, keys: () => keys, rateLimitPerMinute: 600, redact: (v) => v });
 * addRoute(app, routes, { ... });
 * ```
 */
export async function createHttpApp(
  options: HttpAppOptions,
): Promise<{ app: FastifyInstance; routes: RouteContext }> {
  const app = Fastify({
    ...(options.logger === false ? { logger: false } : { loggerInstance: options.logger }),
    bodyLimit: options.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { strict: false } },
    // Errors the router raises before any route runs (a malformed URL, a path parameter over
    // maxParamLength) get the one error body as well, not Fastify's default shape.
    frameworkErrors: (error, _request, reply) => {
      const mapped = toApiError(routerError(error), options.redact);
      // Typed loosely here: the reply of an unmatched request has no route schema to check against.
      const untyped = reply as unknown as FastifyReply;
      void untyped
        .status(mapped.status)
        .headers(mapped.headers ?? {})
        .send(mapped.body);
    },
  });
  // valibot validates inside the handlers; ajv only sees the schemas for the OpenAPI document.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandlers(app, options.redact);
  // Routes answer 401/404/413 before reading a body: such connections close instead of draining it.
  closeUnreadBodies(app);
  // The API speaks JSON only: a text/plain body is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain');
  installJsonParser(app);

  // Budgets, each `rateLimitPerMinute` a minute: one per valid API key, one per client address
  // for everything without a valid key (a flood of bad keys exhausts only its own); routes opt
  // out (probes) or bring their own bucket (/metrics per address, webhooks per pipeline).
  await app.register(rateLimit, {
    global: true,
    max: options.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => {
      const entry = requestKey(options.keys(), request);
      return entry ? `key:${entry.name}` : `anonymous:${clientAddress(request)}`;
    },
    // The returned error is thrown and answered by the common error handler.
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        errorCatalog.rateLimited,
        formatErrorMessage(errorCatalog.rateLimited, {
          max: context.max,
          seconds: Math.ceil(context.ttl / 1000),
        }),
        [],
        {
          'retry-after': String(Math.ceil(context.ttl / 1000)),
        },
      ),
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Sluice API',
        version: options.version,
        description: API_DESCRIPTION,
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from server.apiKeys' },
        },
      },
      security: options.authEnabled ? [{ apiKey: [] }] : [],
    },
  });
  app.addHook('onReady', async () => {
    // Definitions shared by route schemas (see jsonSchemaOf) join the document's components.
    const doc = app.swagger() as { components?: { schemas?: Record<string, unknown> } };
    doc.components = {
      ...doc.components,
      schemas: { ...doc.components?.schemas, ...Object.fromEntries(sharedSchemas) },
    };
  });
  await app.register(swaggerUi, { routePrefix: '/api/v1/docs', staticCSP: true });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return { app, routes: { keys: options.keys, authEnabled: options.authEnabled } };
}

/**
 * The router's own errors, with messages that say what is wrong without echoing the whole URL:
 * a path parameter over {@link MAX_PARAM_LENGTH} characters (414) and a path that is not valid
 * percent-encoded UTF-8 (400).
 */
function routerError(error: FastifyError): unknown {
  switch (error.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError(
        errorCatalog.badRequest,
        `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`,
        [],
        {},
        414,
      );
    case 'FST_ERR_BAD_URL':
      return new ApiError(
        errorCatalog.badRequest,
        'the URL path is not valid percent-encoded UTF-8',
      );
    default:
      return error;
  }
}

/** The keys secure-json-parse refuses, as Fastify configures it (`onProtoPoisoning` / `onConstructorPoisoning: 'error'`). */
function poisonedKeyPath(value: unknown): { path: string; key: string } | undefined {
  const stack: [unknown, string][] = [[value, 'body']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      node.forEach((item, i) => stack.push([item, `${path}[${i}]`]));
      continue;
    }
    if (Object.hasOwn(node, '__proto__')) return { path: `${path}.__proto__`, key: '__proto__' };
    const ctor = (node as Record<string, unknown>).constructor;
    if (
      Object.hasOwn(node, 'constructor') &&
      ctor !== null &&
      typeof ctor === 'object' &&
      Object.hasOwn(ctor, 'prototype')
    ) {
      return { path: `${path}.constructor.prototype`, key: 'constructor' };
    }
    for (const [key, child] of Object.entries(node)) stack.push([child, `${path}.${key}`]);
  }
  return undefined;
}

/**
 * Fastify's JSON parser (secure-json-parse, refusing prototype poisoning), with errors that name
 * the cause: Fastify answers both a syntax error and a refused `__proto__` key with "Body is not
 * valid JSON". A body that fails is parsed again with plain `JSON.parse` to tell them apart.
 */
function installJsonParser(app: FastifyInstance): void {
  const secureParse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    secureParse(request, body as string, (error, value) => {
      if (!error) return done(null, value);
      if ((error as FastifyError).code !== 'FST_ERR_CTP_INVALID_JSON_BODY')
        return done(error, undefined);
      let plain: unknown;
      try {
        plain = JSON.parse(body as string);
      } catch (syntax) {
        return done(
          new ApiError(
            errorCatalog.invalidJson,
            `the request body is not valid JSON: ${(syntax as Error).message}`,
            [{ path: 'body', message: 'not valid JSON' }],
          ),
          undefined,
        );
      }
      const poisoned = poisonedKeyPath(plain);
      if (!poisoned)
        return done(
          new ApiError(errorCatalog.invalidJson, 'the request body is not valid JSON'),
          undefined,
        );
      const message = `the key "${poisoned.key}" is not accepted in a request body: it could change object prototypes (refused by the JSON parser's prototype-poisoning protection); rename the field`;
      done(
        new ApiError(errorCatalog.forbiddenKey, `${poisoned.path}: ${message}`, [
          { path: poisoned.path, message },
        ]),
        undefined,
      );
    });
  });
}
