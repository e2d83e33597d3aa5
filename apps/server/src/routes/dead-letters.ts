import * as v from 'valibot';
import type { FastifyInstance } from 'fastify';
import { errorCatalog, type DeadLetterStatus, type StoredDeadLetter } from '@sluice/core';
import { addRoute, type RouteContext } from '../http/route.js';
import { ApiError, notFound } from '../http/errors.js';
import type { RoutesDeps } from './context.js';
import { JsonObjectSchema, NameParam, PageQuery, errorResponses } from './schemas.js';

const STATUSES: DeadLetterStatus[] = ['pending', 'replayed', 'discarded'];
const Id = v.object({ id: v.pipe(v.string(), v.minLength(1), v.maxLength(128)) });
const LetterSchema = v.object({
  id: v.string(),
  status: v.picklist(STATUSES),
  pipeline: v.string(),
  runId: v.string(),
  route: v.string(),
  destination: v.string(),
  record: JsonObjectSchema,
  error: JsonObjectSchema,
  attempts: v.number(),
  failedAt: v.string(),
  createdAt: v.string(),
});

/** Dead letters: list, inspect, replay through the current routes, discard. */
export function registerDeadLetterRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  deps: RoutesDeps,
): void {
  const { sluice } = deps;
  const tags = ['dead-letters'];

  /** Queues one replay run per pipeline for the given pending letters. */
  async function replay(letters: StoredDeadLetter[]) {
    const byPipeline = new Map<string, string[]>();
    for (const letter of letters) {
      if (letter.status !== 'pending') continue;
      byPipeline.set(letter.pipeline, [...(byPipeline.get(letter.pipeline) ?? []), letter.id]);
    }
    const runs = [];
    for (const [pipeline, ids] of byPipeline) {
      if (!sluice.config().pipelines[pipeline]) {
        throw new ApiError(
          errorCatalog.conflict,
          `pipeline "${pipeline}" no longer exists; discard its dead letters instead`,
        );
      }
      const { runId } = await sluice.scheduler.enqueue({
        pipeline,
        trigger: 'replay',
        params: { deadLetterIds: ids },
      });
      runs.push({ pipeline, runId, deadLetters: ids.length });
    }
    return { runs };
  }

  addRoute(app, ctx, {
    method: 'GET',
    url: '/api/v1/dead-letters',
    scope: 'read',
    summary: 'List dead letters, newest first',
    tags,
    query: v.strictObject({
      pipeline: v.optional(NameParam),
      runId: v.optional(v.string()),
      route: v.optional(v.string()),
      destination: v.optional(v.string()),
      status: v.optional(v.picklist(STATUSES, `status must be one of ${STATUSES.join(', ')}`)),
      ...PageQuery,
    }),
    responses: {
      200: {
        description: 'A page of dead letters',
        schema: v.object({ items: v.array(LetterSchema), nextCursor: v.nullable(v.string()) }),
      },
      ...errorResponses,
    },
    handler: async ({ query }) => {
      const { limit, cursor, ...filters } = query;
      try {
        return await sluice.store.deadLetters.list({
          limit,
          ...(cursor === undefined ? {} : { cursor }),
          ...Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== undefined)),
        });
      } catch (error) {
        if ((error as Error).name === 'ConfigError') throw error;
        throw new ApiError(errorCatalog.badRequest, 'invalid cursor', [
          { path: 'query.cursor', message: 'not a cursor returned by this API' },
        ]);
      }
    },
  });

  addRoute(app, ctx, {
    method: 'GET',
    url: '/api/v1/dead-letters/:id',
    scope: 'read',
    summary: 'Get a dead letter',
    tags,
    params: Id,
    responses: { 200: { description: 'The dead letter', schema: LetterSchema }, ...errorResponses },
    handler: async ({ params }) => {
      const letter = await sluice.store.deadLetters.get(params.id);
      if (!letter) throw notFound(`dead letter "${params.id}"`);
      return letter;
    },
  });

  addRoute(app, ctx, {
    method: 'POST',
    url: '/api/v1/dead-letters/:id/replay',
    scope: 'run',
    summary: 'Replay a dead letter',
    description:
      'Routes the original record again through the current routes of its pipeline, to the destination that failed only.',
    tags,
    params: Id,
    responses: {
      202: { description: 'Replay queued', schema: v.object({ runs: v.array(JsonObjectSchema) }) },
      409: { description: 'Not pending' },
      ...errorResponses,
    },
    handler: async ({ params, reply }) => {
      const letter = await sluice.store.deadLetters.get(params.id);
      if (!letter) throw notFound(`dead letter "${params.id}"`);
      if (letter.status !== 'pending')
        throw new ApiError(
          errorCatalog.conflict,
          `dead letter "${params.id}" is ${letter.status}, not pending`,
        );
      void reply.status(202);
      return replay([letter]);
    },
  });

  addRoute(app, ctx, {
    method: 'POST',
    url: '/api/v1/dead-letters/replay',
    scope: 'run',
    summary: 'Replay many dead letters',
    description:
      'Replays the pending letters with the given ids, or (without ids) every pending letter matching the filters, up to `limit`.',
    tags,
    body: v.strictObject({
      ids: v.optional(
        v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1), v.maxLength(10_000)),
      ),
      pipeline: v.optional(NameParam),
      destination: v.optional(v.string()),
      limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 1000),
    }),
    responses: {
      202: { description: 'Replays queued', schema: v.object({ runs: v.array(JsonObjectSchema) }) },
      ...errorResponses,
    },
    handler: async ({ body, reply }) => {
      const letters: StoredDeadLetter[] = [];
      if (body.ids) {
        for (const id of body.ids) {
          const letter = await sluice.store.deadLetters.get(id);
          if (!letter)
            throw new ApiError(errorCatalog.notFound, `dead letter "${id}" does not exist`, [
              { path: 'body.ids', message: id },
            ]);
          letters.push(letter);
        }
      } else {
        let cursor: string | null = null;
        do {
          const page = await sluice.store.deadLetters.list({
            status: 'pending',
            limit: Math.min(500, body.limit - letters.length),
            ...(cursor ? { cursor } : {}),
            ...(body.pipeline ? { pipeline: body.pipeline } : {}),
            ...(body.destination ? { destination: body.destination } : {}),
          });
          letters.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor && letters.length < body.limit);
      }
      void reply.status(202);
      return replay(letters);
    },
  });

  for (const [method, url] of [
    ['POST', '/api/v1/dead-letters/:id/discard'],
    ['DELETE', '/api/v1/dead-letters/:id'],
  ] as const) {
    addRoute(app, ctx, {
      method,
      url,
      scope: 'run',
      summary: 'Discard a dead letter',
      description: 'Marks a pending letter as discarded (kept for the record, never replayed).',
      tags,
      params: Id,
      responses: {
        200: { description: 'Discarded', schema: v.object({ id: v.string(), status: v.string() }) },
        409: { description: 'Not pending' },
        ...errorResponses,
      },
      handler: async ({ params }) => {
        const letter = await sluice.store.deadLetters.get(params.id);
        if (!letter) throw notFound(`dead letter "${params.id}"`);
        const moved = await sluice.store.deadLetters.discard([params.id]);
        if (moved.length === 0)
          throw new ApiError(
            errorCatalog.conflict,
            `dead letter "${params.id}" is ${letter.status}, not pending`,
          );
        return { id: params.id, status: 'discarded' };
      },
    });
  }
}
