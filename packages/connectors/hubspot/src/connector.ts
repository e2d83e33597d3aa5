/**
 * The `hubspot` connector: reads one CRM object type (contacts, companies, deals, tickets or a
 * custom object) with the official `@hubspot/api-client`.
 */
import {
  FatalError,
  RetryableError,
  type CheckResult,
  type ConnectorInstance,
  type DiscoveredStream,
  type JsonValue,
  type Page,
  type PluginContext,
  type ReadRequest,
  type SluiceRecord,
} from '@sluice/core';
import type { HubSpotConfig } from './config.js';
import { createHubSpotApi, type HubSpotApi } from './hubspot-api.js';
import { readFull, readIncremental, type ReadStep } from './read.js';
import type { CrmObject } from './response.js';
import { parseState, toJson, type HubSpotState } from './state.js';

/**
 * The property holding an object type's last modification time (contacts differ from the rest).
 *
 * @example
 * ```ts
 * modifiedPropertyOf('contacts'); // 'lastmodifieddate'
 * modifiedPropertyOf('deals');    // 'hs_lastmodifieddate'
 * ```
 */
export function modifiedPropertyOf(objectType: string): string {
  return objectType === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
}

function toRecord(
  objectType: string,
  object: CrmObject,
  associations: Record<string, string[]> | undefined,
): SluiceRecord {
  const record: SluiceRecord = {
    id: object.id,
    objectType,
    createdAt: object.createdAt,
    updatedAt: object.updatedAt,
    archived: object.archived,
    properties: object.properties,
  };
  if (associations) record.associations = associations;
  return record;
}

/**
 * Creates a live HubSpot connector from a validated config (what the `hubspot` kind's
 * `create` does; use it directly when embedding without a registry).
 *
 * @example
 * ```ts
 * import { createPluginContext } from '@sluice/core';
 * const connector = createHubSpotConnector(
 *   { ...config, object: 'contacts' },
 *   createPluginContext(),
 * );
 * for await (const page of connector.read({}, new AbortController().signal)) console.log(page.records.length);
 * ```
 */
export function createHubSpotConnector(
  config: HubSpotConfig,
  ctx: PluginContext,
): ConnectorInstance {
  const objectType = config.object;
  const modifiedProperty = modifiedPropertyOf(objectType);
  const logger = ctx.logger.child({ connector: 'hubspot', object: objectType });
  const api: HubSpotApi = createHubSpotApi(config, { clock: ctx.clock, logger, modifiedProperty });
  const recordsRead = ctx.metrics.counter({
    name: 'hubspot_records_read_total',
    help: 'CRM objects read from HubSpot',
    labelNames: ['object'],
  });

  async function propertiesToRead(signal: AbortSignal): Promise<string[]> {
    const names = config.properties ?? (await api.properties(signal)).map((p) => p.name);
    return [...new Set([...names, modifiedProperty])];
  }

  async function withAssociations(
    objects: CrmObject[],
    signal: AbortSignal,
  ): Promise<SluiceRecord[]> {
    if (config.associations.length === 0 || objects.length === 0) {
      return objects.map((o) => toRecord(objectType, o, undefined));
    }
    const ids = objects.map((o) => o.id);
    const byType = new Map<string, Map<string, string[]>>();
    for (const target of config.associations)
      byType.set(target, await api.associations(ids, target, signal));
    return objects.map((o) => {
      const associations: Record<string, string[]> = {};
      for (const target of config.associations)
        associations[target] = byType.get(target)!.get(o.id) ?? [];
      return toRecord(objectType, o, associations);
    });
  }

  function initialState(): HubSpotState {
    if (config.startDate !== undefined) {
      return { v: 1, phase: 'incremental', modifiedAt: Date.parse(config.startDate), lastId: null };
    }
    return { v: 1, phase: 'full', after: null, startedAt: ctx.clock.now() };
  }

  async function* read(request: ReadRequest, runSignal: AbortSignal): AsyncGenerator<Page> {
    const signal = AbortSignal.any([runSignal, ctx.signal]);
    const start = parseState(request.state) ?? initialState();
    const properties = await propertiesToRead(signal);
    const until = ctx.clock.now();
    logger.debug({ phase: start.phase, properties: properties.length }, 'reading HubSpot objects');
    const steps: AsyncGenerator<ReadStep> =
      start.phase === 'full'
        ? readFull(api, properties, start, signal)
        : readIncremental(
            api,
            { modifiedProperty, properties, pageSize: config.searchPageSize, until },
            start,
            signal,
          );
    for await (const step of steps) {
      signal.throwIfAborted();
      const records = await withAssociations(step.objects, signal);
      recordsRead.inc({ object: objectType }, records.length);
      yield { records, state: toJson(step.state) };
      signal.throwIfAborted();
    }
  }

  async function check(): Promise<CheckResult> {
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(30_000)]);
    try {
      await api.list(undefined, ['hs_object_id'], signal);
      if (!config.properties) await api.properties(signal);
      for (const target of config.associations) await api.associations(['1'], target, signal);
      return {
        ok: true,
        message: `HubSpot accepted the token and allows reading ${objectType}${config.properties ? '' : ' and its property definitions'}.`,
        details: { object: objectType },
      };
    } catch (error) {
      const message =
        error instanceof FatalError || error instanceof RetryableError
          ? error.message
          : `HubSpot check failed: ${error instanceof Error ? error.message : String(error)}`;
      const details: Record<string, JsonValue> = { object: objectType };
      if (error instanceof FatalError || error instanceof RetryableError) details.code = error.code;
      return { ok: false, message, details };
    }
  }

  async function discover(): Promise<DiscoveredStream[]> {
    const definitions = await api.properties(ctx.signal);
    const wanted = config.properties
      ? new Set([...config.properties, modifiedProperty])
      : undefined;
    return [
      {
        name: objectType,
        fields: [
          { name: 'id', type: 'string', nullable: false, description: 'HubSpot object id' },
          { name: 'objectType', type: 'string', nullable: false },
          { name: 'createdAt', type: 'datetime', nullable: false },
          { name: 'updatedAt', type: 'datetime', nullable: false },
          { name: 'archived', type: 'bool', nullable: false },
          ...definitions
            .filter((p) => wanted === undefined || wanted.has(p.name))
            .map((p) => ({
              name: `properties.${p.name}`,
              type: p.type,
              nullable: true,
              description: p.description ? `${p.label}: ${p.description}` : p.label,
            })),
          ...config.associations.map((target) => ({
            name: `associations.${target}`,
            type: 'string[]',
            nullable: false,
            description: `Ids of the associated ${target}`,
          })),
        ],
      },
    ];
  }

  return { read, check, discover };
}
