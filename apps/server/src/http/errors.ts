import {
  ConfigError,
  FatalError,
  RetryableError,
  SluiceError,
  errorCatalog,
  formatErrorMessage,
  formatPath,
  type ErrorDefinition,
  type JsonValue,
} from '@sluice/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** One detail of an API error: where (a path into the request) and what. */
export interface ApiErrorDetail {
  path?: string;
  message: string;
}

/** The one error body every API route answers with. */
export interface ApiErrorBody {
  error: { code: string; message: string; details: ApiErrorDetail[] };
}

/**
 * An error the API answers with: a code of the {@link errorCatalog} and its status (or, rarely,
 * another status the same code is documented with, such as 414 for an over-long path parameter).
 *
 * @example
 * ```ts
 * throw new ApiError(errorCatalog.conflict, `pipeline "${name}" already exists`);
 * ```
 */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;

  constructor(
    error: ErrorDefinition & { readonly status: number },
    message: string,
    readonly details: ApiErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
    statusCode: number = error.status,
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = error.code;
    this.statusCode = statusCode;
  }
}

/** 404 with a message naming what was not found. */
export const notFound = (what: string) =>
  new ApiError(errorCatalog.notFound, formatErrorMessage(errorCatalog.notFound, { what }));

/** 409 for a request that conflicts with the current state. */
export const conflict = (message: string) => new ApiError(errorCatalog.conflict, message);

/** A secret reference found in a request body (see `ConfigState.refusedReferences`). */
export interface RequestReference {
  path: readonly (string | number)[];
  text: string;
  inKey: boolean;
}

/**
 * 400 `SLUICE_ERR_SECRET_REFERENCE` for secret references a request may not use, one detail per
 * reference naming its field (`body.pipeline.routes[0].transform[0].value`). The references are
 * quoted as the client wrote them; nothing was resolved.
 *
 * @example
 * ```ts
 * throw secretReferencesRefused([{ path: ['value'], text: '${env:ADMIN_KEY}', inKey: false }], ['body'], false);
 * ```
 */
export function secretReferencesRefused(
  references: readonly RequestReference[],
  prefix: readonly (string | number)[],
  admin: boolean,
): ApiError {
  const why = admin
    ? "it names a secret the server's configuration does not use"
    : "only an admin key may send secret references, and only to secrets the server's configuration already uses";
  const details = references.map((r) => ({
    path: formatPath([...prefix, ...r.path]),
    message: r.inKey
      ? `a key may not hold a secret reference (${r.text}); write "$\${" for a literal "\${"`
      : `the secret reference ${r.text} is not accepted: ${why}; write "$\${" for a literal "\${"`,
  }));
  const first = details[0]!;
  const message =
    details.length === 1
      ? `${first.path}: ${first.message}`
      : `${details.length} secret references are not accepted (first at ${first.path}): ${why}`;
  return new ApiError(errorCatalog.secretReference, message, details);
}

function body(code: string, message: string, details: ApiErrorDetail[] = []): ApiErrorBody {
  return { error: { code, message, details } };
}

/** Maps anything thrown by a route to a status and an {@link ApiErrorBody}, never leaking internals. */
export function toApiError(
  error: unknown,
  redact: <T>(value: T) => T,
): { status: number; body: ApiErrorBody; headers?: Record<string, string> } {
  if (error instanceof ApiError) {
    return {
      status: error.statusCode,
      body: redact(body(error.code, error.message, error.details)),
      headers: error.headers,
    };
  }
  if (error instanceof ConfigError) {
    return {
      status: 400,
      body: redact(
        body(
          error.code,
          error.issues.length === 1
            ? `${error.issues[0]!.path || '(root)'}: ${error.issues[0]!.message}`
            : 'the request is invalid',
          [...error.issues],
        ),
      ),
    };
  }
  if (error instanceof RetryableError) {
    const headers: Record<string, string> =
      error.retryAfterMs === undefined
        ? {}
        : { 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) };
    return { status: 503, body: redact(body(error.code, error.message)), headers };
  }
  if (error instanceof FatalError || error instanceof SluiceError) {
    return { status: 422, body: redact(body(error.code, error.message, detailsOf(error.details))) };
  }
  const fastifyError = error as Partial<FastifyError> & { statusCode?: number };
  if (
    typeof fastifyError.statusCode === 'number' &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500
  ) {
    return {
      status: fastifyError.statusCode,
      body: redact(body(httpCode(fastifyError), clientMessage(fastifyError))),
    };
  }
  return {
    status: errorCatalog.internal.status,
    body: body(errorCatalog.internal.code, errorCatalog.internal.message),
  };
}

function detailsOf(details: Record<string, JsonValue> | undefined): ApiErrorDetail[] {
  if (!details) return [];
  return Object.entries(details).map(([path, value]) => ({
    path,
    message: typeof value === 'string' ? value : JSON.stringify(value),
  }));
}

/** Fastify's own client errors (bad JSON, wrong content type, oversize bodies) get stable codes. */
function httpCode(error: Partial<FastifyError>): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errorCatalog.unsupportedMediaType.code;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errorCatalog.bodyTooLarge.code;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errorCatalog.invalidJson.code;
    default:
      return error.statusCode === 429
        ? errorCatalog.rateLimited.code
        : errorCatalog.badRequest.code;
  }
}

function clientMessage(error: Partial<FastifyError>): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errorCatalog.unsupportedMediaType.message;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errorCatalog.bodyTooLarge.message;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'request body is empty but the content type is application/json';
    default:
      return error.message ?? 'bad request';
  }
}

/**
 * Passes every response body through `redact` (every secret value the process knows): objects
 * before they are serialised (every string and key, wherever it is), and bodies sent as text
 * (`/metrics`, a route that sends a string). Streams and buffers (static files of the docs UI)
 * pass unchanged. Registered on the root app, so it covers every route, error and 404.
 *
 * @example
 * ```ts
 * installResponseRedaction(app, redact);
 * ```
 */
export function installResponseRedaction(app: FastifyInstance, redact: <T>(value: T) => T): void {
  const serialised = new WeakSet<FastifyReply>();
  app.addHook(
    'preSerialization',
    async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      serialised.add(reply);
      return redact(payload);
    },
  );
  app.addHook('onSend', async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) =>
    // Serialised bodies were redacted as objects: text redaction of JSON could cut across its syntax.
    typeof payload === 'string' && !serialised.has(reply) ? redact(payload) : payload,
  );
}

/**
 * Installs the error and not-found handlers that turn every failure into an {@link ApiErrorBody},
 * and the redaction of every response body ({@link installResponseRedaction}).
 *
 * @example
 * ```ts
 * installErrorHandlers(app, redact);
 * ```
 */
export function installErrorHandlers(app: FastifyInstance, redact: <T>(value: T) => T): void {
  installResponseRedaction(app, redact);
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = toApiError(error, redact);
    if (mapped.status >= 500) request.log.error({ err: redact(error) }, 'request failed');
    else
      request.log.info(
        { code: mapped.body.error.code, status: mapped.status },
        mapped.body.error.message,
      );
    void reply
      .status(mapped.status)
      .headers(mapped.headers ?? {})
      .send(mapped.body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(
        body(errorCatalog.notFound.code, `no route ${request.method} ${request.url.split('?')[0]}`),
      );
  });
}
