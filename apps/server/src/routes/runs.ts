import * as v from 'valibot';
import type { FastifyInstance } from 'fastify';
import { BacklogFullError } from '@sluice/scheduler';
import { errorCatalog, type JsonObject, type RunStatus } from '@sluice/core';
import { addRoute, type RouteContext } from '../http/route.js';
import { ApiError, conflict, notFound } from '../http/errors.js';
import type { RoutesDeps } from './context.js';
import {
  ErrorBodySchema,
  JsonObjectSchema,
  NameParam,
  PageQuery,
  errorResponses,
} from './schemas.js';

const STATUSES: RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const DATE = v.pipe(v.string(), v.isoDate('a date as YYYY-MM-DD'));

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

/** Counts of the expectations of routes or of destinations: by owner, then expectation name. */
const ExpectationCountsSchema = v.record(
  v.string(),
  v.record(
    v.string(),
    v.object({
      check: v.string(),
      action: v.string(),
      field: v.optional(v.string()),
      checked: Count,
      violations: Count,
    }),
  ),
);

const BreakdownSchema = v.pipe(
  v.object({
    routes: v.pipe(
      v.record(
        v.string(),
        v.object({
          matched: v.pipe(
            Count,
            v.description(
              'Records whose condition matched (the default route: the records it took).',
            ),
          ),
          produced: v.pipe(Count, v.description("Records the route's transforms produced.")),
          droppedByTransform: Count,
          failed: v.pipe(Count, v.description('Records whose condition or transform failed.')),
        }),
      ),
      v.description('By route name.'),
    ),
    destinations: v.pipe(
      v.record(
        v.string(),
        v.object({
          delivered: v.pipe(Count, v.description('Records the destination acknowledged.')),
          failed: v.pipe(Count, v.description("Records given up with `onError: 'fail-run'`.")),
          deadLettered: v.pipe(
            Count,
            v.description(
              'Records written as dead letters for this destination (given up, or refused by an expectation).',
            ),
          ),
          dropped: v.pipe(
            Count,
            v.description(
              "Records given up with `onError: 'drop'`, or dropped by the destination's own expectations.",
            ),
          ),
          batches: Count,
          retries: Count,
        }),
      ),
      v.description('By destination name; their `delivered` add up to `counts.delivered`.'),
    ),
    expectations: v.optional(
      v.pipe(
        ExpectationCountsSchema,
        v.description(
          'By route, then expectation name; present when some route declares `expect`.',
        ),
      ),
    ),
    destinationExpectations: v.optional(
      v.pipe(
        ExpectationCountsSchema,
        v.description(
          'By destination, then expectation name (`destinations.<name>.expect`, checked on every record the destination received); present when some destination declares `expect`.',
        ),
      ),
    ),
  }),
  v.description(
    'Counts by route, destination and expectation, written when the run finishes (a failed run keeps what it had); `null` before that and for runs stored before the breakdown was kept.',
  ),
);

const RunSchema = v.object({
  id: v.string(),
  pipeline: v.string(),
  pipelineVersion: v.nullable(v.number()),
  trigger: v.string(),
  status: v.picklist(STATUSES),
  params: v.nullable(JsonObjectSchema),
  queuedAt: v.string(),
  startedAt: v.nullable(v.string()),
  finishedAt: v.nullable(v.string()),
  counts: JsonObjectSchema,
  breakdown: v.nullable(BreakdownSchema),
  error: v.nullable(JsonObjectSchema),
  attempt: v.number(),
});

const CountsSchema = v.object({
  read: v.pipe(v.number(), v.description('Records in: read from the source.')),
  delivered: v.pipe(v.number(), v.description('Deliveries out, acknowledged by destinations.')),
  deadLettered: v.number(),
  dropped: v.number(),
  failed: v.number(),
});

/** Starting, listing, inspecting and cancelling runs. */
export function registerRunRoutes(app: FastifyInstance, ctx: RouteContext, deps: RoutesDeps): void {
  const { sluice } = deps;
  const tags = ['runs'];

  addRoute(app, ctx, {
    method: 'POST',
    url: '/api/v1/pipelines/:name/runs',
    scope: 'run',
    summary: 'Start a run',
    description:
      'Queues a run of the pipeline with optional parameters. With `from` and `to` (dates) it starts a backfill: one run per `chunkDays` chunk, ' +
      'resumable — calling it again with the same range keeps finished chunks and re-queues failed ones.',
    tags,
    params: v.object({ name: NameParam }),
    body: v.optional(
      v.strictObject({
        params: v.optional(JsonObjectSchema),
        from: v.optional(DATE),
        to: v.optional(DATE),
        chunkDays: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(366))),
      }),
      {},
    ),
    responses: {
      202: {
        description: 'Queued',
        schema: v.object({
          runId: v.optional(v.string()),
          backfillId: v.optional(v.string()),
          runs: v.optional(v.array(JsonObjectSchema)),
        }),
      },
      409: { description: 'The pipeline is disabled or its API trigger is off' },
      ...errorResponses,
      429: {
        description:
          "Over the client's `server.rateLimit.perMinute` budget, or the pipeline's queued runs reached `maxQueuedRuns` (nothing was queued; a backfill is not bounded); see `Retry-After`",
        schema: ErrorBodySchema,
      },
    },
    handler: async ({ params, body, reply }) => {
      const config = sluice.config();
      const pipeline = config.pipelines[params.name];
      if (!pipeline) throw notFound(`pipeline "${params.name}"`);
      if (!pipeline.enabled) throw conflict(`pipeline "${params.name}" is disabled`);
      if (!pipeline.api.enabled)
        throw conflict(`pipeline "${params.name}" does not accept API runs (api.enabled is false)`);
      void reply.status(202);
      if ((body.from === undefined) !== (body.to === undefined)) {
        throw new ApiError(errorCatalog.badRequest, 'give both "from" and "to" for a backfill', [
          {
            path: body.from === undefined ? 'body.from' : 'body.to',
            message: 'required with the other',
          },
        ]);
      }
      if (body.from !== undefined && body.to !== undefined) {
        if (body.from > body.to)
          throw new ApiError(errorCatalog.badRequest, '"from" is after "to"', [
            { path: 'body.from', message: 'must not be after to' },
          ]);
        const result = await sluice.scheduler.backfill(params.name, {
          from: body.from,
          to: body.to,
          ...(body.chunkDays === undefined ? {} : { chunkDays: body.chunkDays }),
          ...(body.params === undefined ? {} : { params: body.params as JsonObject }),
        });
        return { backfillId: result.backfillId, runs: result.chunks as unknown as JsonObject[] };
      }
      try {
        const { runId } = await sluice.scheduler.trigger(params.name, {
          trigger: 'api',
          ...(body.params === undefined ? {} : { params: body.params as JsonObject }),
          pipelineVersion: sluice.state.current.pipelineVersions[params.name] ?? null,
        });
        return { runId };
      } catch (error) {
        if (error instanceof BacklogFullError) {
          throw new ApiError(errorCatalog.backlogFull, error.message, [], {
            'retry-after': String(error.retryAfterSeconds),
          });
        }
        throw error;
      }
    },
  });

  addRoute(app, ctx, {
    method: 'GET',
    url: '/api/v1/activity',
    scope: 'read',
    summary: 'Records in and out per pipeline over the last hours',
    description:
      'Per pipeline, the runs that finished (succeeded, failed or cancelled) in the last `hours` hours and the sums of their counts: `read` is records in, ' +
      '`delivered` deliveries out. Runs still queued or running are not counted yet (their counts are written when they finish); pipelines without such a run are absent.',
    tags,
    query: v.strictObject({
      hours: v.optional(
        v.pipe(
          v.string(),
          v.regex(/^\d+$/, 'a whole number of hours'),
          v.transform(Number),
          v.number(),
          v.minValue(1, 'at least 1 hour'),
          v.maxValue(720, 'at most 720 hours (30 days)'),
          v.description('The window: runs finished in the last `hours` hours (1–720).'),
        ),
        '24',
      ),
      pipeline: v.optional(v.pipe(NameParam, v.description('Only this pipeline.'))),
    }),
    responses: {
      200: {
        description: 'The totals, sorted by pipeline',
        schema: v.object({
          since: v.pipe(v.string(), v.description('Start of the window (ISO time).')),
          hours: v.number(),
          items: v.array(
            v.object({
              pipeline: v.string(),
              runs: v.pipe(v.number(), v.description('Runs finished in the window.')),
              counts: CountsSchema,
            }),
          ),
        }),
      },
      ...errorResponses,
    },
    handler: async ({ query }) => {
      const since = new Date(Date.now() - query.hours * 3_600_000).toISOString();
      const items = await sluice.store.runs.countsSince(
        since,
        query.pipeline === undefined ? {} : { pipeline: query.pipeline },
      );
      return { since, hours: query.hours, items };
    },
  });

  addRoute(app, ctx, {
    method: 'GET',
    url: '/api/v1/runs',
    scope: 'read',
    summary: 'List runs, newest first',
    tags,
    query: v.strictObject({
      pipeline: v.optional(NameParam),
      status: v.optional(
        v.pipe(
          v.string(),
          v.transform((s) => s.split(',')),
          v.array(v.picklist(STATUSES, `status must be one of ${STATUSES.join(', ')}`)),
        ),
      ),
      trigger: v.optional(v.picklist(['cron', 'webhook', 'api', 'replay', 'cli'])),
      ...PageQuery,
    }),
    responses: {
      200: {
        description: 'A page of runs',
        schema: v.object({ items: v.array(RunSchema), nextCursor: v.nullable(v.string()) }),
      },
      ...errorResponses,
    },
    handler: async ({ query }) => {
      try {
        return await sluice.store.runs.list({
          limit: query.limit,
          ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
          ...(query.pipeline === undefined ? {} : { pipeline: query.pipeline }),
          ...(query.status === undefined ? {} : { status: query.status }),
          ...(query.trigger === undefined ? {} : { trigger: query.trigger }),
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
    url: '/api/v1/runs/:id',
    scope: 'read',
    summary: 'Get a run',
    tags,
    params: v.object({ id: v.pipe(v.string(), v.uuid('a run id (UUID)')) }),
    responses: { 200: { description: 'The run', schema: RunSchema }, ...errorResponses },
    handler: async ({ params }) => {
      const run = await sluice.store.runs.get(params.id);
      if (!run) throw notFound(`run "${params.id}"`);
      return run;
    },
  });

  addRoute(app, ctx, {
    method: 'POST',
    url: '/api/v1/runs/:id/cancel',
    scope: 'run',
    summary: 'Cancel a run',
    description:
      'A queued run is cancelled at once; a running one stops at its next check (within about a second) and keeps its last committed checkpoint.',
    tags,
    params: v.object({ id: v.pipe(v.string(), v.uuid('a run id (UUID)')) }),
    responses: {
      200: { description: 'The run after the request', schema: RunSchema },
      409: { description: 'The run already finished' },
      ...errorResponses,
    },
    handler: async ({ params }) => {
      const before = await sluice.store.runs.get(params.id);
      if (!before) throw notFound(`run "${params.id}"`);
      if (['succeeded', 'failed', 'cancelled'].includes(before.status))
        throw conflict(`run "${params.id}" already ${before.status}`);
      return (await sluice.scheduler.cancel(params.id)) ?? before;
    },
  });

  addRoute(app, ctx, {
    method: 'GET',
    url: '/api/v1/runs/:id/logs',
    scope: 'read',
    summary: "Get a run's log lines",
    tags,
    params: v.object({ id: v.pipe(v.string(), v.uuid('a run id (UUID)')) }),
    query: v.strictObject({
      afterSeq: v.optional(
        v.pipe(v.string(), v.regex(/^\d+$/, 'a whole number'), v.transform(Number)),
      ),
      limit: PageQuery.limit,
    }),
    responses: {
      200: {
        description: 'Log lines in order',
        schema: v.object({ items: v.array(JsonObjectSchema) }),
      },
      ...errorResponses,
    },
    handler: async ({ params, query }) => {
      if (!(await sluice.store.runs.get(params.id))) throw notFound(`run "${params.id}"`);
      const items = await sluice.store.runs.listLogs(params.id, {
        limit: query.limit,
        ...(query.afterSeq === undefined ? {} : { afterSeq: query.afterSeq }),
      });
      return { items };
    },
  });
}
