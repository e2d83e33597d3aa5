/**
 * The route index: every pipeline version's `routes` list, one row per route, written with the
 * version. Answers "which pipelines send to destination X" (before removing it) and lists routes
 * in evaluation order without parsing whole configs.
 */
import { isRecord, type JsonObject, type RouteSpec } from '@sluice/core';
import { sql, type Kysely } from 'kysely';
import type { StoreDatabase } from './schema.js';
import type { OnNewVersion } from './versioned-config.js';
import { fromJson, jsonText } from './values.js';

/**
 * A route of a pipeline version as indexed.
 *
 * @example
 * ```ts
 * const [first]: IndexedRoute[] = await store.routes.list('daily');
 * ```
 */
export interface IndexedRoute {
  pipeline: string;
  version: number;
  route: string;
  priority: number;
  destinations: string[];
  spec: RouteSpec;
}

/**
 * Queries over the route index.
 *
 * @example
 * ```ts
 * const users = await store.routes.usedBy('warehouse');
 * if (users.length) throw new Error(`still used by ${users.map((r) => r.pipeline).join(', ')}`);
 * ```
 */
export interface RouteIndex {
  /** Routes of a pipeline version (default: its latest), by descending priority then config order. */
  list(pipeline: string, version?: number): Promise<IndexedRoute[]>;
  /** Routes of the latest version of every pipeline (not removed) that send to `destination`. */
  usedBy(destination: string): Promise<IndexedRoute[]>;
}

/** Writes the route rows of a new pipeline version (routes without a name or `to` are skipped). */
export const indexRoutes: OnNewVersion = async (trx, saved) => {
  const routes = (saved.config as JsonObject).routes;
  if (!Array.isArray(routes)) return;
  const rows = routes.flatMap((route, position) => {
    if (!isRecord(route) || typeof route.name !== 'string' || !Array.isArray(route.to)) return [];
    return [
      {
        pipeline: saved.name,
        version: saved.version,
        route: route.name,
        position,
        priority:
          typeof route.priority === 'number' && Number.isInteger(route.priority)
            ? route.priority
            : 0,
        destinations: route.to.filter((d): d is string => typeof d === 'string'),
        spec: jsonText(route),
      },
    ];
  });
  // A duplicated route name keeps its first occurrence: config validation reports duplicates.
  const unique = rows.filter(
    (row, index) => rows.findIndex((other) => other.route === row.route) === index,
  );
  if (unique.length > 0) await trx.insertInto('pipeline_routes').values(unique).execute();
};

/**
 * Creates the route index queries.
 *
 * @example
 * ```ts
 * const routes = createRouteIndex(db);
 * await routes.list('daily');
 * ```
 */
export function createRouteIndex(db: Kysely<StoreDatabase>): RouteIndex {
  const select = () =>
    db
      .selectFrom('pipeline_routes as r')
      .innerJoin('pipelines as p', 'p.name', 'r.pipeline')
      .select([
        'r.pipeline',
        'r.version',
        'r.route',
        'r.priority',
        'r.destinations',
        'r.spec',
        'r.position',
      ])
      .where('p.removed_at', 'is', null);
  const toRoute = (row: {
    pipeline: string;
    version: number;
    route: string;
    priority: number;
    destinations: string[];
    spec: unknown;
  }): IndexedRoute => ({
    pipeline: row.pipeline,
    version: row.version,
    route: row.route,
    priority: row.priority,
    destinations: row.destinations,
    spec: fromJson<RouteSpec>(row.spec),
  });
  return {
    async list(pipeline, version) {
      let query = select().where('r.pipeline', '=', pipeline);
      query =
        version === undefined
          ? query.whereRef('r.version', '=', 'p.latest_version')
          : query.where('r.version', '=', version);
      const rows = await query.orderBy('r.priority', 'desc').orderBy('r.position', 'asc').execute();
      return rows.map(toRoute);
    },
    async usedBy(destination) {
      const rows = await select()
        .whereRef('r.version', '=', 'p.latest_version')
        .where(sql<boolean>`r.destinations @> ARRAY[${destination}]::text[]`)
        .orderBy('r.pipeline')
        .orderBy('r.position')
        .execute();
      return rows.map(toRoute);
    },
  };
}
