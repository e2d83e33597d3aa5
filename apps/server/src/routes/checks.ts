import * as v from 'valibot';
import type { FastifyInstance } from 'fastify';
import { PipelineSchema, destinationOptions, pipelineSourceOptions } from '@sluice/config';
import {
  ConfigError,
  isRecord,
  toError,
  type CheckResult,
  type JsonObject,
  type SluiceRecord,
  errorCatalog,
} from '@sluice/core';
import { dryRun } from '@sluice/router';
import { addRoute, type RouteContext } from '../http/route.js';
import { ApiError, notFound } from '../http/errors.js';
import { compilePipelineTable } from '../runtime/executor.js';
import { refuseRequestSecrets } from './config-entities.js';
import type { RoutesDeps } from './context.js';
import { JsonObjectSchema, NameParam, errorResponses } from './schemas.js';

const CheckSchema = v.object({
  ok: v.boolean(),
  message: v.string(),
  details: v.optional(JsonObjectSchema),
});
const CHECK_TIMEOUT_MS = 15_000;

async function withTimeout(check: () => Promise<CheckResult>): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      check(),
      new Promise<CheckResult>((resolve) => {
        timer = setTimeout(
          () => resolve({ ok: false, message: `no answer within ${CHECK_TIMEOUT_MS / 1000} s` }),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    return { ok: false, message: toError(error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Name under which a dry run validates the pipeline config it was sent. */
const PREVIEW = 'dry-run-preview';

/**
 * Runs `fn`, reporting problems of the previewed pipeline (`pipelines.dry-run-preview.x`) at the
 * request field they came from (`body.pipeline.x`).
 */
async function asRequestPaths<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const prefix = `pipelines.${PREVIEW}`;
    const issues = error.issues.map((issue) =>
      issue.path === prefix ||
      issue.path.startsWith(`${prefix}.`) ||
      issue.path.startsWith(`${prefix}[`)
        ? { ...issue, path: `body.pipeline${issue.path.slice(prefix.length)}` }
        : issue,
    );
    throw new ConfigError(issues, { cause: error });
  }
}

/** Connection and destination checks, and dry runs. */
export function registerCheckRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  deps: RoutesDeps,
): void {
  const { sluice } = deps;
  const pluginCtx = () => ({
    logger: sluice.logger as never,
    metrics: deps.metrics,
    signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
    clock: { now: Date.now, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) },
  });

  addRoute(app, ctx, {
    method: 'POST',
    url: '/api/v1/connections/:name/check',
    scope: 'run',
    summary: 'Check a connection',
    description:
      "Creates the connector with the connection's options and runs its `check()` (credentials and access), without reading data.",
    tags: ['connections'],
    params: v.object({ name: NameParam }),
    responses: {
      200: {
        description: 'The outcome (ok false with an actionable message on failure)',
        schema: CheckSchema,
      },
      ...errorResponses,
    },
    handler: async ({ params }) => {
      const connection = sluice.config().connections[params.name];
      if (!connection) throw notFound(`connection "${params.name}"`);
      // A source of only the connection: the connector's own defaults fill the rest.
      const options = Object.fromEntries(Object.entries(connection).filter(([k]) => k !== 'kind'));
      return withTimeout(async () => {
        const connector = await sluice.registry.createConnector(
          connection.kind,
          options,
          pluginCtx(),
          ['connections', params.name],
        );
        try {
          return connector.check
            ? await connector.check()
            : {
                ok: true,
                message: `connector "${connection.kind}" has no check; the config is valid`,
              };
        } finally {
          await connector.close?.();
        }
      });
    },
  });

  addRoute(app, ctx, {
    method: 'POST',
    url: '/api/v1/pipelines/:name/check',
    scope: 'run',
    summary: "Check a pipeline's source",
    tags: ['pipelines'],
    params: v.object({ name: NameParam }),
    responses: { 200: { description: 'The outcome', schema: CheckSchema }, ...errorResponses },
    handler: async ({ params }) => {
      const config = sluice.config();
      if (!config.pipelines[params.name]) throw notFound(`pipeline "${params.name}"`);
      const { kind, options } = pipelineSourceOptions(config, params.name);
      return withTimeout(async () => {
        const connector = await sluice.registry.createConnector(kind, options, pluginCtx(), [
          'pipelines',
          params.name,
          'source',
        ]);
        try {
          return connector.check
            ? await connector.check()
            : { ok: true, message: `connector "${kind}" has no check; the config is valid` };
        } finally {
          await connector.close?.();
        }
      });
    },
  });

  addRoute(app, ctx, {
    method: 'POST',
    url: '/api/v1/destinations/:name/check',
    scope: 'run',
    summary: 'Check a destination',
    description:
      "Runs the destination's `check()` (reachability, credentials, table or bucket access) without writing.",
    tags: ['destinations'],
    params: v.object({ name: NameParam }),
    responses: { 200: { description: 'The outcome', schema: CheckSchema }, ...errorResponses },
    handler: async ({ params }) => {
      const config = sluice.config();
      if (!config.destinations[params.name]) throw notFound(`destination "${params.name}"`);
      const { kind, options, delivery } = destinationOptions(config, params.name);
      return withTimeout(async () => {
        const pooled = await sluice.pool.get(params.name, kind, options, delivery);
        return pooled.instance.check
          ? await pooled.instance.check()
          : { ok: true, message: `destination "${kind}" has no check; the config is valid` };
      });
    },
  });

  addRoute(app, ctx, {
    method: 'POST',
    url: '/api/v1/dry-run',
    scope: 'read',
    summary: 'Preview routing without writing',
    description:
      "Evaluates records against a pipeline's routes — a stored pipeline by name, or a pipeline config to try before saving — and returns, per record, " +
      "the routes that matched with their transformed output, and per destination what it would receive; when routes or destinations declare `expect`, each record's expectation violations (and `withheld`, the outputs a destination's expectations keep from it) and, under `expectations`, the counts per check (`counts` by route, `destinations` by destination) and the run checks' violations. Nothing is written. " +
      'A pipeline config sent here may hold no secret reference (`${env:..}`, `${file:..}`): it is refused with 400 `' +
      errorCatalog.secretReference.code +
      '` naming the field, ' +
      "before anything is resolved — except that an `admin` key may use references the server's configuration file already uses. " +
      'References inside `records` are data and never resolved. Every secret value the server knows is `[redacted]` in the answer.',
    tags: ['pipelines'],
    body: v.strictObject({
      pipeline: v.union([NameParam, PipelineSchema], 'a pipeline name or a pipeline config'),
      records: v.pipe(v.array(JsonObjectSchema), v.minLength(1), v.maxLength(10_000)),
    }),
    responses: { 200: { description: 'The preview', schema: JsonObjectSchema }, ...errorResponses },
    handler: async ({ body, request, keyName }) => {
      const records = body.records as SluiceRecord[];
      records.forEach((r, i) => {
        if (!isRecord(r))
          throw new ApiError(errorCatalog.badRequest, 'records must be JSON objects', [
            { path: `body.records[${i}]`, message: 'not an object' },
          ]);
      });
      let config = sluice.config();
      let name: string;
      if (typeof body.pipeline === 'string') {
        name = body.pipeline;
        if (!config.pipelines[name]) throw notFound(`pipeline "${name}"`);
      } else {
        name = PREVIEW;
        const raw = sluice.state.current.raw;
        const rawPipeline = (request.body as { pipeline: JsonObject }).pipeline;
        // Before validation resolves anything: a refused reference is never read.
        refuseRequestSecrets(ctx, sluice, keyName, rawPipeline, ['body', 'pipeline']);
        const candidate = {
          ...raw,
          pipelines: { ...(raw.pipelines as object), [name]: rawPipeline },
        };
        config = await asRequestPaths(() => sluice.state.validate(candidate));
      }
      const compiled = config;
      const table = await asRequestPaths(() =>
        compilePipelineTable(compiled, name, sluice.registry, pluginCtx()),
      );
      return dryRun(records, table);
    },
  });
}
