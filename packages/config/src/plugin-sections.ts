/**
 * Validates plugin-owned parts of a configuration with the schema each kind registered:
 * destination options, connector options (a connection overlaid with a pipeline's source) and
 * transform step options. Engine keys (`kind`, `batch`, `retry`, `concurrency`, `connection`)
 * are removed first; problems are reported at their place in the file.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import type { ConfigSchema, PluginRegistry } from '@sluice/core';
import { DESTINATION_ENGINE_KEYS, KIND_KEY, SOURCE_ENGINE_KEYS } from './defaults.js';
import { problemsFromValibot, type PathSegments, type Problem } from './issues.js';
import { didYouMean } from './suggest.js';

type Dict = Record<string, unknown>;
type PluginType = 'connector' | 'destination' | 'transform';

const isDict = (value: unknown): value is Dict =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Returns `section` without the engine-owned `keys`: what the plugin's `configSchema` sees.
 *
 * @example
 * ```ts
 * withoutKeys({ kind: 'database', table: 't', batch: {} }, ['kind', 'batch']); // { table: 't' }
 * ```
 */
export function withoutKeys(section: Dict, keys: readonly string[]): Dict {
  const out: Dict = {};
  for (const [key, value] of Object.entries(section)) if (!keys.includes(key)) out[key] = value;
  return out;
}

/**
 * The connector options of a source: the named connection's options (without `kind`),
 * overlaid key by key with the source's own options (without `connection`/`kind`).
 *
 * @example
 * ```ts
 * mergeSourceOptions({ kind: 'ga4', propertyId: '1' }, { connection: 'main', dateRange: 'yesterday' });
 * // { propertyId: '1', dateRange: 'yesterday' }
 * ```
 */
export function mergeSourceOptions(connection: Dict | undefined, source: Dict): Dict {
  return {
    ...(connection ? withoutKeys(connection, KIND_KEY) : {}),
    ...withoutKeys(source, SOURCE_ENGINE_KEYS),
  };
}

function schemaFor(
  registry: PluginRegistry,
  type: PluginType,
  kind: unknown,
  kindPath: PathSegments,
  problems: Problem[],
): ConfigSchema | undefined {
  if (typeof kind !== 'string') return undefined;
  const definition = registry.get(type, kind);
  if (definition) return definition.configSchema;
  const known = registry.kinds(type);
  problems.push({
    path: kindPath,
    message: `unknown ${type} kind "${kind}"${didYouMean(kind, known)}${known.length ? ` (known: ${known.join(', ')})` : ' (no plugin provides one)'}`,
  });
  return undefined;
}

function validate(
  schema: ConfigSchema,
  options: Dict,
  kind: string,
  at: (path: PathSegments) => PathSegments,
  problems: Problem[],
): void {
  let result: ReturnType<typeof v.safeParse<ConfigSchema>>;
  try {
    result = v.safeParse(schema, options);
  } catch (error) {
    // A plugin's schema is third-party code: a throwing transform must not crash the loader.
    problems.push({
      path: at([]),
      message: `the "${kind}" plugin's schema failed: ${(error as Error)?.message ?? String(error)}`,
    });
    return;
  }
  if (result.success) return;
  for (const problem of problemsFromValibot(result.issues))
    problems.push({ ...problem, path: at(problem.path) });
}

/**
 * Checks every plugin-owned section against its kind's schema in `registry`.
 *
 * @example
 * ```ts
 * const problems = checkPluginSections(rawConfig, registry);
 * // [{ path: ['destinations', 'warehouse', 'table'], message: 'required' }]
 * ```
 */
export function checkPluginSections(config: unknown, registry: PluginRegistry): Problem[] {
  if (!isDict(config)) return [];
  const problems: Problem[] = [];
  const connections = isDict(config.connections) ? config.connections : {};

  if (isDict(config.destinations)) {
    for (const [name, section] of Object.entries(config.destinations)) {
      if (!isDict(section)) continue;
      const at: PathSegments = ['destinations', name];
      const schema = schemaFor(registry, 'destination', section.kind, [...at, 'kind'], problems);
      if (schema)
        validate(
          schema,
          withoutKeys(section, DESTINATION_ENGINE_KEYS),
          String(section.kind),
          (p) => [...at, ...p],
          problems,
        );
    }
  }
  for (const [name, section] of Object.entries(connections)) {
    // A connection alone may lack options its sources add, so only its kind is checked here;
    // its options are checked merged with each source below.
    if (isDict(section))
      schemaFor(registry, 'connector', section.kind, ['connections', name, 'kind'], problems);
  }

  if (!isDict(config.pipelines)) return problems;
  for (const [name, pipeline] of Object.entries(config.pipelines)) {
    if (!isDict(pipeline)) continue;
    const at: PathSegments = ['pipelines', name];
    checkSource(pipeline.source, [...at, 'source'], connections, registry, problems);
    if (Array.isArray(pipeline.routes)) {
      pipeline.routes.forEach((route, index) => {
        if (isDict(route))
          checkTransforms(
            route.transform,
            [...at, 'routes', index, 'transform'],
            registry,
            problems,
          );
      });
    }
    if (isDict(pipeline.defaultRoute))
      checkTransforms(
        pipeline.defaultRoute.transform,
        [...at, 'defaultRoute', 'transform'],
        registry,
        problems,
      );
  }
  return problems;
}

function checkSource(
  source: unknown,
  at: PathSegments,
  connections: Dict,
  registry: PluginRegistry,
  problems: Problem[],
): void {
  if (!isDict(source)) return;
  const connectionName = typeof source.connection === 'string' ? source.connection : undefined;
  const connection = connectionName === undefined ? undefined : connections[connectionName];
  if (connectionName !== undefined && !isDict(connection)) return; // reported as an unknown connection
  if (connectionName !== undefined && source.kind !== undefined) return; // reported as "not both"
  const kind = isDict(connection) ? connection.kind : source.kind;
  const kindPath = isDict(connection) ? ['connections', connectionName!, 'kind'] : [...at, 'kind'];
  const schema = schemaFor(registry, 'connector', kind, kindPath, problems);
  if (!schema) return;
  const ownKeys = new Set(Object.keys(withoutKeys(source, SOURCE_ENGINE_KEYS)));
  // Attribute each problem to where the key was written: the source, else the connection;
  // a missing key belongs to the source (that is where a pipeline would add it).
  const place = (path: PathSegments): PathSegments => {
    const first = path[0];
    if (
      typeof first === 'string' &&
      !ownKeys.has(first) &&
      isDict(connection) &&
      Object.hasOwn(connection, first)
    ) {
      return ['connections', connectionName!, ...path];
    }
    return [...at, ...path];
  };
  validate(
    schema,
    mergeSourceOptions(isDict(connection) ? connection : undefined, source),
    String(kind),
    place,
    problems,
  );
}

function checkTransforms(
  steps: unknown,
  at: PathSegments,
  registry: PluginRegistry,
  problems: Problem[],
): void {
  if (!Array.isArray(steps)) return;
  steps.forEach((step, index) => {
    if (!isDict(step)) return;
    const schema = schemaFor(registry, 'transform', step.kind, [...at, index, 'kind'], problems);
    if (schema)
      validate(
        schema,
        withoutKeys(step, KIND_KEY),
        String(step.kind),
        (p) => [...at, index, ...p],
        problems,
      );
  });
}
