import * as v from 'valibot';
import type { FastifyInstance } from 'fastify';
import { addRoute, type RouteContext } from '../http/route.js';
import type { RoutesDeps } from './context.js';
import { NameParam, PageQuery, errorResponses } from './schemas.js';

const CHANGES = ['create_table', 'add_column', 'widen_column'] as const;
const ChangeSchema = v.object({
  seq: v.pipe(v.number(), v.description('Position in the log; larger is newer.')),
  destination: v.pipe(v.string(), v.description('The destination that made the change.')),
  kind: v.pipe(v.string(), v.description('Its kind (`database`).')),
  table: v.string(),
  change: v.picklist(CHANGES),
  column: v.nullable(v.string()),
  from: v.pipe(v.nullable(v.string()), v.description('Portable type before (widen_column).')),
  to: v.pipe(v.nullable(v.string()), v.description('Portable type after.')),
  statement: v.pipe(v.nullable(v.string()), v.description('The DDL that ran.')),
  changedAt: v.string(),
});

/** The schema-change log: table changes destinations made under their schema policy. */
export function registerSchemaChangeRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  deps: RoutesDeps,
): void {
  const { sluice } = deps;
  addRoute(app, ctx, {
    method: 'GET',
    url: '/api/v1/schema-changes',
    scope: 'read',
    summary: 'List schema changes, newest first',
    description:
      'Every table a destination created, column it added and column it widened under its schema policy (database destination `schema`), with the DDL that ran.',
    tags: ['schema-changes'],
    query: v.strictObject({
      destination: v.optional(NameParam),
      table: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200))),
      ...PageQuery,
    }),
    responses: {
      200: {
        description: 'A page of schema changes',
        schema: v.object({ items: v.array(ChangeSchema), nextCursor: v.nullable(v.string()) }),
      },
      ...errorResponses,
    },
    handler: async ({ query }) => {
      const { limit, cursor, destination, table } = query;
      // A bad cursor or limit is the store's ConfigError naming the field: a 400.
      return sluice.store.schemaChanges.list({
        limit,
        ...(cursor === undefined ? {} : { cursor }),
        ...(destination === undefined ? {} : { destination }),
        ...(table === undefined ? {} : { table }),
      });
    },
  });
}
