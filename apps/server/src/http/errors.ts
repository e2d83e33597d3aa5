import { ConfigError, FatalError, RetryableError, SluiceError, type JsonValue } from '@sluice/core';
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
 * An error the API answers with a specific status and code (`SLUICE_ERR_*`).
 *
 * @example
 * ```ts
 * throw new ApiError(404, 'SLUICE_ERR_NOT_FOUND', `pipeline "${name}" does not exist`);
 * ```
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: ApiErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** 404 with a message naming what was not found. */
export const notFound = (what: string) => new ApiError(404, 'SLUICE_ERR_NOT_FOUND', `${what} does not exist`);

/** 409 for a request that conflicts with the current state. */
export const conflict = (message: string) => new ApiError(409, 'SLUICE_ERR_CONFLICT', message);

function body(code: string, message: string, details: ApiErrorDetail[] = []): ApiErrorBody {
  return { error: { code, message, details } };
}

/** Maps anything thrown by a route to a status and an {@link ApiErrorBody}, never leaking internals. */
export function toApiError(error: unknown, redact: <T>(value: T) => T): { status: number; body: ApiErrorBody; headers?: Record<string, string> } {
  if (error instanceof ApiError) {
    return { status: error.statusCode, body: redact(body(error.code, error.message, error.details)), headers: error.headers };
  }
  if (error instanceof ConfigError) {
    return {
      status: 400,
      body: redact(body(error.code, error.issues.length === 1 ? `${error.issues[0]!.path || '(root)'}: ${error.issues[0]!.message}` : 'the request is invalid', [...error.issues])),
    };
  }
  if (error instanceof RetryableError) {
    const headers: Record<string, string> = error.retryAfterMs === undefined ? {} : { 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) };
    return { status: 503, body: redact(body(error.code, error.message)), headers };
  }
  if (error instanceof FatalError || error instanceof SluiceError) {
    return { status: 422, body: redact(body(error.code, error.message, detailsOf(error.details))) };
  }
  const fastifyError = error as Partial<FastifyError> & { statusCode?: number };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return { status: fastifyError.statusCode, body: redact(body(httpCode(fastifyError), clientMessage(fastifyError))) };
  }
  return { status: 500, body: body('SLUICE_ERR_INTERNAL', 'internal error; see the server log') };
}

function detailsOf(details: Record<string, JsonValue> | undefined): ApiErrorDetail[] {
  if (!details) return [];
  return Object.entries(details).map(([path, value]) => ({ path, message: typeof value === 'string' ? value : JSON.stringify(value) }));
}

/** Fastify's own client errors (bad JSON, wrong content type, oversize bodies) get stable codes. */
function httpCode(error: Partial<FastifyError>): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'SLUICE_ERR_BODY_TOO_LARGE';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'SLUICE_ERR_INVALID_JSON';
    default:
      return error.statusCode === 429 ? 'SLUICE_ERR_RATE_LIMITED' : 'SLUICE_ERR_BAD_REQUEST';
  }
}

function clientMessage(error: Partial<FastifyError>): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported content type: send application/json';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body is larger than the server accepts';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'request body is empty but the content type is application/json';
    default:
      return error.message ?? 'bad request';
  }
}

/**
 * Installs the error and not-found handlers that turn every failure into an {@link ApiErrorBody}.
 *
 * @example
 * ```ts
 * installErrorHandlers(app, redact);
 * ```
 */
export function installErrorHandlers(app: FastifyInstance, redact: <T>(value: T) => T): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = toApiError(error, redact);
    if (mapped.status >= 500) request.log.error({ err: redact(error) }, 'request failed');
    else request.log.info({ code: mapped.body.error.code, status: mapped.status }, mapped.body.error.message);
    void reply.status(mapped.status).headers(mapped.headers ?? {}).send(mapped.body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(body('SLUICE_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
