import * as v from 'valibot';
import type { FastifyInstance } from 'fastify';
import {
  ConnectionSchema,
  DEFAULTS,
  DestinationSchema,
  PipelineSchema,
  ScheduleSchema,
} from '@sluice/config';
import { errorCatalog, parseCron, type JsonObject } from '@sluice/core';
import type { ConfigStore } from '@sluice/store';
import { addRoute, type RouteContext } from '../http/route.js';
import { ApiError, notFound, secretReferencesRefused } from '../http/errors.js';
import type { VersionedSection } from '../runtime/config-state.js';
import type { SluiceServer } from '../runtime/sluice.js';
import type { RoutesDeps } from './context.js';
import { JsonObjectSchema, NameParam, errorResponses } from './schemas.js';

const EntrySchema = v.object({
  name: v.string(),
  latestVersion: v.number(),
  enabled: v.boolean(),
  createdAt: v.string(),
  updatedAt: v.string(),
});
const VersionSchema = v.object({
  name: v.string(),
  version: v.number(),
  config: JsonObjectSchema,
  createdAt: v.string(),
});

const SECTIONS: { section: VersionedSection; singular: string; schema: v.GenericSchema }[] = [
  { section: 'pipelines', singular: 'pipeline', schema: PipelineSchema },
  { section: 'connections', singular: 'connection', schema: ConnectionSchema },
  { section: 'destinations', singular: 'destination', schema: DestinationSchema },
];

const etag = (version: number) => `"v${version}"`;

/** True when the request's key has the `admin` scope (or authentication is off: every caller is). */
export function isAdminRequest(ctx: RouteContext, keyName: string): boolean {
  return (
    !ctx.authEnabled || ctx.keys().some((key) => key.name === keyName && key.scopes.has('admin'))
  );
}

/**
 * Refuses, with a 400 naming each field, the secret references in config sent through the API
 * that the request may not use (see `ConfigState.refusedReferences`): checked before anything is
 * validated, so a refused reference is never resolved, read or stored.
 *
 * @example
 * ```ts
 * refuseRequestSecrets(ctx, sluice, keyName, request.body, ['body']);
 * ```
 */
export function refuseRequestSecrets(
  ctx: RouteContext,
  sluice: SluiceServer,
  keyName: string,
  value: unknown,
  at: readonly (string | number)[],
): void {
  const admin = isAdminRequest(ctx, keyName);
  const refused = sluice.state.refusedReferences(value, admin);
  if (refused.length > 0) throw secretReferencesRefused(refused, at, admin);
}

function checkIfMatch(header: string | string[] | undefined, version: number | undefined): void {
  if (header === undefined) return;
  const wanted = String(header)
    .split(',')
    .map((s) => s.trim());
  if (wanted.includes('*') && version !== undefined) return;
  if (version === undefined || !wanted.includes(etag(version))) {
    throw new ApiError(
      errorCatalog.preconditionFailed,
      `If-Match ${String(header)} does not match the current version${version === undefined ? '' : ` ${etag(version)}`}`,
    );
  }
}

/**
 * CRUD of the versioned configuration entities — pipelines, connections, destinations — and of
 * pipeline schedules. Every change is one transaction (`SluiceServer.changeConfig`): validated
 * against the whole configuration with the one validation pipeline (the file's rules, plugin
 * schemas, route compilation, whether the scheduler can apply it) before anything is stored; a
 * refused change stores nothing; an accepted one is saved as a new version and applied to the
 * running scheduler, or taken back when it cannot be applied.
 */
export function registerConfigRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  deps: RoutesDeps,
): void {
  const { sluice } = deps;
  const storeOf = (section: VersionedSection): ConfigStore => sluice.store[section];

  /**
   * Saves one entity as a new version, transactionally: the whole configuration it produces is
   * validated first (nothing stored when refused), then it is stored and applied to the running
   * scheduler; a version that cannot be applied is discarded again. `ifMatch` is checked inside
   * the same step, so no concurrent change slips in between.
   */
  async function saveEntity(
    section: VersionedSection,
    name: string,
    config: JsonObject,
    ifMatch?: string | string[],
  ) {
    return sluice.changeConfig({
      check: async () => {
        if (ifMatch !== undefined)
          checkIfMatch(ifMatch, (await storeOf(section).getEntry(name))?.latestVersion);
        await sluice.state.check(section, name, config);
      },
      store: async () => {
        const saved = await storeOf(section).save(name, config);
        return {
          result: saved,
          changed: saved.changed,
          revert: async () => void (await storeOf(section).discardVersion(name, saved.version)),
        };
      },
    });
  }

  for (const { section, singular, schema } of SECTIONS) {
    const base = `/api/v1/${section}`;
    const tags = [section];
    addRoute(app, ctx, {
      method: 'GET',
      url: base,
      scope: 'read',
      summary: `List ${section}`,
      tags,
      responses: {
        200: {
          description: `Every ${singular}`,
          schema: v.object({ items: v.array(EntrySchema) }),
        },
        ...errorResponses,
      },
      handler: async () => ({ items: await storeOf(section).list() }),
    });
    addRoute(app, ctx, {
      method: 'GET',
      url: `${base}/:name`,
      scope: 'read',
      summary: `Get a ${singular} (latest version)`,
      description:
        'Secrets appear as the references they were saved with (`${env:NAME}`), never resolved. The ETag is the version.',
      tags,
      params: v.object({ name: NameParam }),
      responses: {
        200: {
          description: `The ${singular}`,
          schema: v.object({ ...EntrySchema.entries, config: JsonObjectSchema }),
        },
        ...errorResponses,
      },
      handler: async ({ params, reply, request }) => {
        const entry = await storeOf(section).getEntry(params.name);
        if (!entry) throw notFound(`${singular} "${params.name}"`);
        const latest = await storeOf(section).getVersion(params.name, entry.latestVersion);
        void reply.header('etag', etag(entry.latestVersion));
        if (request.headers['if-none-match'] === etag(entry.latestVersion))
          return reply.status(304).send();
        return { ...entry, config: latest?.config ?? {} };
      },
    });
    addRoute(app, ctx, {
      method: 'PUT',
      url: `${base}/:name`,
      scope: 'admin',
      summary: `Create or replace a ${singular}`,
      description:
        `Validated like the \`${section}\` section of sluice.yaml against the whole configuration; saved as a new version when it differs from the latest. Send \`If-Match: "v<version>"\` to avoid overwriting a concurrent change. ` +
        'Secret references (`${env:NAME}`, `${file:path}`) are stored as written, never resolved values; only references that the configuration file already uses are accepted — any other is refused with 400 `' +
        errorCatalog.secretReference.code +
        '` naming the field, before anything is read or stored.',
      tags,
      params: v.object({ name: NameParam }),
      body: schema,
      responses: {
        200: {
          description: 'Saved (or unchanged)',
          schema: v.object({ name: v.string(), version: v.number(), changed: v.boolean() }),
        },
        201: {
          description: 'Created',
          schema: v.object({ name: v.string(), version: v.number(), changed: v.boolean() }),
        },
        412: { description: 'If-Match does not match the current version' },
        ...errorResponses,
      },
      handler: async ({ params, request, reply, keyName }) => {
        // The store keeps what the client sent, references included: only known ones get there.
        refuseRequestSecrets(ctx, sluice, keyName, request.body, ['body']);
        const existing = await storeOf(section).getEntry(params.name);
        // Save what the client sent (defaults are applied when the config is read, not stored).
        const saved = await saveEntity(
          section,
          params.name,
          request.body as JsonObject,
          request.headers['if-match'],
        );
        void reply.status(existing ? 200 : 201).header('etag', etag(saved.version));
        return { name: params.name, version: saved.version, changed: saved.changed };
      },
    });
    addRoute(app, ctx, {
      method: 'DELETE',
      url: `${base}/:name`,
      scope: 'admin',
      summary: `Delete a ${singular}`,
      description:
        'Refused when other configuration still refers to it. Its versions stay for run history.',
      tags,
      params: v.object({ name: NameParam }),
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
      handler: async ({ params, reply }) => {
        await sluice.changeConfig({
          check: async () => {
            if (!(await storeOf(section).getEntry(params.name)))
              throw notFound(`${singular} "${params.name}"`);
            await sluice.state.check(section, params.name, undefined);
          },
          store: async () => {
            const latest = await storeOf(section).getLatest(params.name);
            await storeOf(section).remove(params.name);
            // Saving the same config again brings a removed entity back without a new version.
            return {
              result: undefined,
              changed: true,
              revert: async () =>
                void (latest && (await storeOf(section).save(params.name, latest.config))),
            };
          },
        });
        return reply.status(204).send();
      },
    });
    addRoute(app, ctx, {
      method: 'GET',
      url: `${base}/:name/versions`,
      scope: 'read',
      summary: `List the versions of a ${singular}, newest first`,
      tags,
      params: v.object({ name: NameParam }),
      responses: {
        200: { description: 'Versions', schema: v.object({ items: v.array(VersionSchema) }) },
        ...errorResponses,
      },
      handler: async ({ params }) => {
        const items = await storeOf(section).listVersions(params.name);
        if (items.length === 0) throw notFound(`${singular} "${params.name}"`);
        return { items };
      },
    });
    addRoute(app, ctx, {
      method: 'GET',
      url: `${base}/:name/versions/:version`,
      scope: 'read',
      summary: `Get one version of a ${singular}`,
      tags,
      params: v.object({
        name: NameParam,
        version: v.pipe(v.string(), v.regex(/^\d+$/, 'a version number'), v.transform(Number)),
      }),
      responses: { 200: { description: 'The version', schema: VersionSchema }, ...errorResponses },
      handler: async ({ params }) => {
        const found = await storeOf(section).getVersion(params.name, params.version);
        if (!found) throw notFound(`version ${params.version} of ${singular} "${params.name}"`);
        return found;
      },
    });
  }

  for (const action of ['enable', 'disable'] as const) {
    addRoute(app, ctx, {
      method: 'POST',
      url: `/api/v1/pipelines/:name/${action}`,
      scope: 'admin',
      summary: `${action === 'enable' ? 'Enable' : 'Disable'} a pipeline`,
      description:
        action === 'disable'
          ? 'No trigger fires for a disabled pipeline; running runs finish.'
          : 'Triggers fire again.',
      tags: ['pipelines'],
      params: v.object({ name: NameParam }),
      responses: {
        200: { description: 'Done', schema: v.object({ name: v.string(), enabled: v.boolean() }) },
        ...errorResponses,
      },
      handler: async ({ params }) => {
        const enabled = action === 'enable';
        await sluice.changeConfig({
          check: async () => {
            if (!(await sluice.store.pipelines.getEntry(params.name)))
              throw notFound(`pipeline "${params.name}"`);
            // Enabling puts the pipeline back into the running configuration: it must be valid there.
            await sluice.state.checkEnabled(params.name, enabled);
          },
          store: async () => {
            const before = (await sluice.store.pipelines.getEntry(params.name))?.enabled;
            await sluice.store.pipelines.setEnabled(params.name, enabled);
            return {
              result: undefined,
              changed: before !== enabled,
              revert: async () =>
                void (await sluice.store.pipelines.setEnabled(params.name, before ?? !enabled)),
            };
          },
        });
        return { name: params.name, enabled };
      },
    });
  }

  registerScheduleRoutes(app, ctx, deps, saveEntity);
}

/** Schedules are the `schedule` section of a pipeline: each change is a new pipeline version. */
function registerScheduleRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  deps: RoutesDeps,
  saveEntity: (
    section: VersionedSection,
    name: string,
    config: JsonObject,
    ifMatch?: string | string[],
  ) => Promise<{ version: number; changed: boolean }>,
): void {
  const { sluice } = deps;
  const tags = ['schedules'];
  async function pipelineConfig(name: string): Promise<JsonObject> {
    const entry = await sluice.store.pipelines.getEntry(name);
    const latest = entry && (await sluice.store.pipelines.getVersion(name, entry.latestVersion));
    if (!latest) throw notFound(`pipeline "${name}"`);
    return latest.config;
  }
  const ScheduleOut = v.object({ pipeline: v.string(), schedule: JsonObjectSchema });
  const ScheduleListItem = v.object({
    ...ScheduleOut.entries,
    timezone: v.string(),
    nextFireAt: v.nullable(v.string()),
  });
  /** The next time a pipeline's cron fires (before `jitterMs`), or null when it will not. */
  function nextFireAt(pipeline: string): { timezone: string; nextFireAt: string | null } {
    const config = sluice.config().pipelines[pipeline];
    const schedule = config?.schedule;
    const timezone = schedule?.timezone ?? DEFAULTS.schedule.timezone;
    if (!config?.enabled || !schedule || !schedule.enabled) return { timezone, nextFireAt: null };
    const job = parseCron(schedule.cron, timezone);
    try {
      return { timezone, nextFireAt: job.nextRun()?.toISOString() ?? null };
    } finally {
      job.stop();
    }
  }

  addRoute(app, ctx, {
    method: 'GET',
    url: '/api/v1/schedules',
    scope: 'read',
    summary: 'List the schedules of every pipeline',
    description:
      'Each schedule as configured, with its time zone and `nextFireAt`: the next time its cron fires (ISO 8601, UTC; before `jitterMs`), ' +
      'or null when the pipeline or its schedule is disabled.',
    tags,
    responses: {
      200: { description: 'Schedules', schema: v.object({ items: v.array(ScheduleListItem) }) },
      ...errorResponses,
    },
    handler: () => ({
      items: Object.entries(sluice.state.current.raw.pipelines as Record<string, JsonObject>)
        .filter(([, p]) => p.schedule !== undefined)
        .map(([pipeline, p]) => ({
          pipeline,
          schedule: p.schedule as JsonObject,
          ...nextFireAt(pipeline),
        })),
    }),
  });
  addRoute(app, ctx, {
    method: 'GET',
    url: '/api/v1/schedules/:pipeline',
    scope: 'read',
    summary: "Get a pipeline's schedule",
    tags,
    params: v.object({ pipeline: NameParam }),
    responses: { 200: { description: 'The schedule', schema: ScheduleOut }, ...errorResponses },
    handler: async ({ params }) => {
      const schedule = (await pipelineConfig(params.pipeline)).schedule;
      if (schedule === undefined) throw notFound(`a schedule of pipeline "${params.pipeline}"`);
      return { pipeline: params.pipeline, schedule: schedule as JsonObject };
    },
  });
  addRoute(app, ctx, {
    method: 'PUT',
    url: '/api/v1/schedules/:pipeline',
    scope: 'admin',
    summary: "Create or replace a pipeline's schedule",
    description:
      'Saved as a new version of the pipeline and applied at once (cron timers restart; missed-run policy applies). ' +
      'A secret reference the configuration file does not use is refused with 400 `' +
      errorCatalog.secretReference.code +
      '`.',
    tags,
    params: v.object({ pipeline: NameParam }),
    body: ScheduleSchema,
    responses: {
      200: {
        description: 'Saved',
        schema: v.object({ pipeline: v.string(), version: v.number(), changed: v.boolean() }),
      },
      ...errorResponses,
    },
    handler: async ({ params, request, keyName }) => {
      refuseRequestSecrets(ctx, sluice, keyName, request.body, ['body']);
      const config = await pipelineConfig(params.pipeline);
      const saved = await saveEntity('pipelines', params.pipeline, {
        ...config,
        schedule: request.body as JsonObject,
      });
      return { pipeline: params.pipeline, version: saved.version, changed: saved.changed };
    },
  });
  addRoute(app, ctx, {
    method: 'DELETE',
    url: '/api/v1/schedules/:pipeline',
    scope: 'admin',
    summary: "Remove a pipeline's schedule",
    tags,
    params: v.object({ pipeline: NameParam }),
    responses: { 204: { description: 'Removed' }, ...errorResponses },
    handler: async ({ params, reply }) => {
      const config = await pipelineConfig(params.pipeline);
      if (config.schedule === undefined)
        throw notFound(`a schedule of pipeline "${params.pipeline}"`);
      const next = { ...config };
      delete next.schedule;
      await saveEntity('pipelines', params.pipeline, next);
      return reply.status(204).send();
    },
  });
  for (const action of ['enable', 'disable'] as const) {
    addRoute(app, ctx, {
      method: 'POST',
      url: `/api/v1/schedules/:pipeline/${action}`,
      scope: 'admin',
      summary: `${action === 'enable' ? 'Enable' : 'Disable'} a pipeline's schedule`,
      tags,
      params: v.object({ pipeline: NameParam }),
      responses: {
        200: {
          description: 'Done',
          schema: v.object({ pipeline: v.string(), enabled: v.boolean(), version: v.number() }),
        },
        ...errorResponses,
      },
      handler: async ({ params }) => {
        const config = await pipelineConfig(params.pipeline);
        if (config.schedule === undefined)
          throw notFound(`a schedule of pipeline "${params.pipeline}"`);
        const saved = await saveEntity('pipelines', params.pipeline, {
          ...config,
          schedule: { ...(config.schedule as JsonObject), enabled: action === 'enable' },
        });
        return { pipeline: params.pipeline, enabled: action === 'enable', version: saved.version };
      },
    });
  }
}
