import { createHash } from 'node:crypto';
import { toJsonSchema } from '@valibot/to-json-schema';
import { MAX_JSON_DEPTH, jsonDepthExceeds, parseConfig, errorCatalog } from '@sluice/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type * as v from 'valibot';
import { authorize, type ApiKeyEntry, type Scope } from './auth.js';
import { ApiError } from './errors.js';

type Schema = v.GenericSchema;
type Out<S> = S extends Schema ? v.InferOutput<S> : undefined;

/** The parts of a request a handler receives, each validated by its valibot schema. */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Name of the API key that authorised the request (`anonymous` when auth is off). */
  keyName: string;
  request: FastifyRequest;
  reply: FastifyReply;
}

/**
 * One API route: valibot schemas validate the request (the same schemas as the config file) and
 * also produce the OpenAPI document, so docs and validation cannot drift apart.
 */
export interface ApiRoute<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  /** Required scope, or `public` for unauthenticated routes. */
  scope: Scope | 'public';
  summary: string;
  description?: string;
  tags: string[];
  params?: P;
  query?: Q;
  body?: B;
  /** Response schemas by status code, for the OpenAPI document. */
  responses: Record<number, { description: string; schema?: Schema }>;
  /** `false` exempts the route from rate limiting (liveness and readiness probes). */
  rateLimit?: false;
  handler(input: RouteInput<Out<P>, Out<Q>, Out<B>>): Promise<unknown> | unknown;
}

/** Deepest nesting of objects and arrays a request body may have. */
export const MAX_BODY_DEPTH = MAX_JSON_DEPTH;

/** Options shared by every route of one app. */
export interface RouteContext {
  keys: () => readonly ApiKeyEntry[];
  authEnabled: boolean;
}

/**
 * Converts a valibot schema to JSON Schema for OpenAPI 3.1 (draft 2020-12); parts that have no
 * JSON Schema equivalent (custom checks, transforms) are left out rather than failing.
 *
 * @example
 * ```ts
 * jsonSchemaOf(v.object({ limit: v.optional(v.number()) }));
 * ```
 */
export function jsonSchemaOf(schema: Schema): Record<string, unknown> {
  const json = toJsonSchema(schema, { target: 'draft-2020-12', errorMode: 'ignore' }) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  const defs = json.$defs as Record<string, unknown> | undefined;
  if (!defs) return json;
  // Recursive schemas (conditions) come with local $defs; in an OpenAPI document they must live
  // under components.schemas. Names derive from the content, so equal definitions coincide.
  delete json.$defs;
  const prefix = `S${createHash('sha256').update(JSON.stringify(defs)).digest('hex').slice(0, 10)}_`;
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) =>
        k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')
          ? [k, `#/components/schemas/${prefix}${v.slice(8)}`]
          : [k, rewrite(v)],
      ),
    );
  };
  for (const [name, def] of Object.entries(defs))
    sharedSchemas.set(`${prefix}${name}`, rewrite(def));
  return rewrite(json) as Record<string, unknown>;
}

/** Definitions lifted out of converted schemas, served as `components.schemas`. */
export const sharedSchemas = new Map<string, unknown>();

/** Largest integer a path or query parameter may carry: beyond it a number has lost digits. */
export const MAX_PARAM_INTEGER = Number.MAX_SAFE_INTEGER;

/** C0 control characters and DEL: never part of a name, an id or a cursor, and NUL ends a PostgreSQL string. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
/** An unpaired UTF-16 surrogate (with the `u` flag a valid pair is one code point outside the range). */
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const NUL = '\u0000';

const codePoint = (char: string) =>
  `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

function badRequest(path: string, message: string): ApiError {
  return new ApiError(errorCatalog.badRequest, `${path}: ${message}`, [{ path, message }]);
}

/**
 * Refuses control characters in path parameters and query values, before any schema or store
 * sees them (PostgreSQL cannot hold a NUL: it used to surface as a 500).
 */
function refuseControlCharacters(values: unknown, where: 'params' | 'query'): void {
  if (values === null || typeof values !== 'object') return;
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item !== 'string') continue;
      const found = CONTROL_CHARACTER.exec(item) ?? LONE_SURROGATE.exec(item);
      if (found)
        throw badRequest(
          `${where}.${name}`,
          `contains the character ${codePoint(found[0])}; path parameters and query values may not contain control characters or unpaired surrogates`,
        );
    }
  }
}

/** Refuses numbers a validated parameter turned into that are no longer the digits sent. */
function refuseOutOfRange(values: unknown, where: 'params' | 'query'): void {
  if (values === null || typeof values !== 'object') return;
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
    if (typeof value !== 'number') continue;
    if (
      !Number.isFinite(value) ||
      (Number.isInteger(value) && Math.abs(value) > MAX_PARAM_INTEGER)
    ) {
      throw badRequest(`${where}.${name}`, `is out of range: at most ${MAX_PARAM_INTEGER}`);
    }
  }
}

/**
 * A store error of SQLSTATE class 22 ("data exception": a number out of range for its column,
 * text the encoding cannot hold, a malformed value) raised while a route ran is caused by a value
 * of the request, not by the server: a 400 naming the parameter whose value the database quotes
 * (`value "2147483648" is out of range for type integer` names `params.version`).
 */
function dataException(error: unknown, request: FastifyRequest): ApiError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('22')) return undefined;
  const reason = (error as Error).message;
  const quoted = /"([^"]*)"/.exec(reason)?.[1];
  let path = 'request';
  for (const [where, values] of [
    ['params', request.params],
    ['query', request.query],
  ] as const) {
    if (values === null || typeof values !== 'object' || quoted === undefined) continue;
    const match = Object.entries(values as Record<string, unknown>).find(
      ([, value]) => value === quoted,
    );
    if (match) {
      path = `${where}.${match[0]}`;
      break;
    }
  }
  const message = `does not fit the store: ${reason}`;
  return new ApiError(errorCatalog.badRequest, `${path}: ${message}`, [{ path, message }]);
}

/**
 * Finds the first string (key or value) of a JSON body the store cannot hold: a NUL character or
 * an unpaired surrogate (PostgreSQL's text and jsonb refuse both). Iterative: bodies may nest
 * up to {@link MAX_BODY_DEPTH} levels.
 */
function unstorableString(body: unknown): { path: string; message: string } | undefined {
  const describe = (text: string, what: string) => {
    if (text.includes(NUL))
      return `${what} contains the character U+0000 (NUL), which cannot be stored`;
    const lone = LONE_SURROGATE.exec(text);
    return lone
      ? `${what} contains the unpaired surrogate ${codePoint(lone[0])}, which is not valid Unicode`
      : undefined;
  };
  const stack: [unknown, string][] = [[body, 'body']];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      const problem = describe(value, 'the text');
      if (problem) return { path, message: problem };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}[${i}]`]);
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const problem = describe(key, `the key ${JSON.stringify(key)}`);
        if (problem) return { path, message: problem };
        stack.push([child, `${path}.${key}`]);
      }
    }
  }
  return undefined;
}

/** What the pre-body checks of a request established, for its handler. */
interface Checked {
  keyName: string;
  params: unknown;
  query: unknown;
}

const checkedRequests = new WeakMap<FastifyRequest, Checked>();

/**
 * Registers an {@link ApiRoute} on a Fastify app: authorization by scope, valibot validation of
 * params, query and body (a 400 naming each bad field as `body.x.y`), and the JSON schemas the
 * OpenAPI document is generated from.
 *
 * The key, its scope, the path parameters and the query are checked in a `preParsing` hook,
 * before a byte of the body is read: a request without a valid key costs no body parsing, and
 * is answered with `Connection: close` (see `closeUnreadBodies`) so its body is not read either. Every route
 * refuses control characters in parameters and query values, integers past 2^53, and body
 * strings with NUL or unpaired surrogates, with a 400 naming the field; a value the store still
 * refuses (a version past PostgreSQL's `integer`) is a 400 naming the parameter, not a 500.
 *
 * @example
 * ```ts
 * addRoute(app, ctx, { method: 'GET', url: '/api/v1/runs/:id', scope: 'read', summary: 'Get a run',
 *   tags: ['runs'], params: v.object({ id: v.string() }), responses: { 200: { description: 'the run' } },
 *   handler: ({ params }) => store.runs.get(params.id) });
 * ```
 */
export function addRoute<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
>(app: FastifyInstance, ctx: RouteContext, route: ApiRoute<P, Q, B>): void {
  const response: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    response[status] = {
      description: r.description,
      ...(r.schema ? { content: { 'application/json': { schema: jsonSchemaOf(r.schema) } } } : {}),
    };
  }
  app.route({
    method: route.method,
    url: route.url,
    ...(route.rateLimit === false ? { config: { rateLimit: false } } : {}),
    schema: {
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      ...(route.params ? { params: jsonSchemaOf(route.params) } : {}),
      ...(route.query ? { querystring: jsonSchemaOf(route.query) } : {}),
      ...(route.body ? { body: jsonSchemaOf(route.body) } : {}),
      response,
      // OpenAPI 3.1 lets non-OAuth requirements list roles: the scope this route needs.
      security: route.scope === 'public' ? [] : [{ apiKey: [route.scope] }],
    },
    // Runs after the rate limiter (onRequest) and before the body is read; a refusal here leaves
    // the body unread and closes the connection after the answer (see closeUnreadBodies).
    preParsing: async (request, _reply, payload) => {
      const keyName =
        route.scope === 'public' || !ctx.authEnabled
          ? 'anonymous'
          : authorize(ctx.keys(), request, route.scope);
      (request as FastifyRequest & { sluiceKey?: string }).sluiceKey = keyName;
      refuseControlCharacters(request.params, 'params');
      refuseControlCharacters(request.query, 'query');
      const params = route.params
        ? parseConfig(route.params, request.params, ['params'])
        : undefined;
      const query = route.query
        ? parseConfig(route.query, request.query ?? {}, ['query'])
        : undefined;
      refuseOutOfRange(params, 'params');
      refuseOutOfRange(query, 'query');
      checkedRequests.set(request, { keyName, params, query });
      return payload;
    },
    handler: async (request, reply) => {
      const checked = checkedRequests.get(request);
      if (!checked)
        throw new Error(`route ${route.method} ${route.url} ran without its preParsing checks`);
      const { keyName } = checked;
      const params = checked.params as Out<P>;
      const query = checked.query as Out<Q>;
      if (route.body && jsonDepthExceeds(request.body, MAX_BODY_DEPTH)) {
        // Deeper bodies overflow the stack of JSON.stringify when stored (a 500 before this check).
        throw new ApiError(
          errorCatalog.invalidJson,
          `the request body nests deeper than ${MAX_BODY_DEPTH} levels`,
          [{ path: 'body', message: `at most ${MAX_BODY_DEPTH} levels of nesting` }],
        );
      }
      const unstorable = route.body ? unstorableString(request.body) : undefined;
      if (unstorable) throw badRequest(unstorable.path, unstorable.message);
      const body = (
        route.body ? parseConfig(route.body, request.body, ['body']) : undefined
      ) as Out<B>;
      let result: unknown;
      try {
        result = await route.handler({ params, query, body, keyName, request, reply });
      } catch (error) {
        throw dataException(error, request) ?? error;
      }
      if (reply.sent) return reply;
      return result ?? reply.status(204).send();
    },
  });
}
