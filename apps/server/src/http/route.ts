import { createHash } from 'node:crypto';
import { toJsonSchema } from '@valibot/to-json-schema';
import { MAX_JSON_DEPTH, jsonDepthExceeds, parseConfig } from '@sluice/core';
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
export interface ApiRoute<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined> {
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
  const json = toJsonSchema(schema, { target: 'draft-2020-12', errorMode: 'ignore' }) as Record<string, unknown>;
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
        k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? [k, `#/components/schemas/${prefix}${v.slice(8)}`] : [k, rewrite(v)],
      ),
    );
  };
  for (const [name, def] of Object.entries(defs)) sharedSchemas.set(`${prefix}${name}`, rewrite(def));
  return rewrite(json) as Record<string, unknown>;
}

/** Definitions lifted out of converted schemas, served as `components.schemas`. */
export const sharedSchemas = new Map<string, unknown>();

/**
 * Registers an {@link ApiRoute} on a Fastify app: authorization by scope, valibot validation of
 * params, query and body (a 400 naming each bad field as `body.x.y`), and the JSON schemas the
 * OpenAPI document is generated from.
 *
 * @example
 * ```ts
 * addRoute(app, ctx, { method: 'GET', url: '/api/v1/runs/:id', scope: 'read', summary: 'Get a run',
 *   tags: ['runs'], params: v.object({ id: v.string() }), responses: { 200: { description: 'the run' } },
 *   handler: ({ params }) => store.runs.get(params.id) });
 * ```
 */
export function addRoute<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined>(
  app: FastifyInstance,
  ctx: RouteContext,
  route: ApiRoute<P, Q, B>,
): void {
  const response: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    response[status] = { description: r.description, ...(r.schema ? { content: { 'application/json': { schema: jsonSchemaOf(r.schema) } } } : {}) };
  }
  app.route({
    method: route.method,
    url: route.url,
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
    handler: async (request, reply) => {
      const keyName =
        route.scope === 'public' || !ctx.authEnabled ? 'anonymous' : authorize(ctx.keys(), request, route.scope);
      (request as FastifyRequest & { sluiceKey?: string }).sluiceKey = keyName;
      const params = (route.params ? parseConfig(route.params, request.params, ['params']) : undefined) as Out<P>;
      const query = (route.query ? parseConfig(route.query, request.query ?? {}, ['query']) : undefined) as Out<Q>;
      if (route.body && jsonDepthExceeds(request.body, MAX_BODY_DEPTH)) {
        // Deeper bodies overflow the stack of JSON.stringify when stored (a 500 before this check).
        throw new ApiError(400, 'SLUICE_ERR_INVALID_JSON', `the request body nests deeper than ${MAX_BODY_DEPTH} levels`, [{ path: 'body', message: `at most ${MAX_BODY_DEPTH} levels of nesting` }]);
      }
      const body = (route.body ? parseConfig(route.body, request.body, ['body']) : undefined) as Out<B>;
      const result = await route.handler({ params, query, body, keyName, request, reply });
      if (reply.sent) return reply;
      return result ?? reply.status(204).send();
    },
  });
}
