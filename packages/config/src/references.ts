/**
 * Checks that span sections: route destinations and source connections exist, names are
 * unique, and each source names exactly one of connection/kind. They run on the raw data
 * (not the validated output) so they are reported together with structural problems.
 *
 * @packageDocumentation
 */
import type { PathSegments, Problem } from './issues.js';
import { didYouMean } from './suggest.js';

type Dict = Record<string, unknown>;

const isDict = (value: unknown): value is Dict =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const keysOf = (value: unknown): string[] => (isDict(value) ? Object.keys(value) : []);

/**
 * Finds every cross-reference problem in a (secret-resolved) configuration.
 *
 * @example
 * ```ts
 * checkReferences({ destinations: { slack: { kind: 'slack' } }, pipelines: { daily: { source: { kind: 'ga4' }, routes: [{ name: 'a', to: ['slak'] }] } } });
 * // [{ path: ['pipelines', 'daily', 'routes', 0, 'to', 0], message: 'unknown destination "slak" (did you mean "slack"?)' }]
 * ```
 */
export function checkReferences(config: unknown): Problem[] {
  if (!isDict(config)) return [];
  const problems: Problem[] = [];
  const destinations = keysOf(config.destinations);
  const connections = keysOf(config.connections);

  if (isDict(config.server) && Array.isArray(config.server.apiKeys)) {
    duplicates(config.server.apiKeys, ['server', 'apiKeys'], 'name', 'API key name', problems);
  }
  if (Array.isArray(config.plugins)) {
    const seen = new Map<unknown, number>();
    config.plugins.forEach((plugin, index) => {
      const first = seen.get(plugin);
      if (first !== undefined)
        problems.push({
          path: ['plugins', index],
          message: `plugin "${String(plugin)}" is listed twice (also plugins[${first}])`,
        });
      else seen.set(plugin, index);
    });
  }

  if (!isDict(config.pipelines)) return problems;
  for (const [name, pipeline] of Object.entries(config.pipelines)) {
    if (!isDict(pipeline)) continue;
    const at: PathSegments = ['pipelines', name];
    checkSource(pipeline.source, [...at, 'source'], connections, problems);
    const routes = pipeline.routes;
    if (Array.isArray(routes)) {
      duplicates(routes, [...at, 'routes'], 'name', 'route name', problems);
      routes.forEach((route, index) => {
        if (isDict(route))
          checkTo(route.to, [...at, 'routes', index, 'to'], destinations, problems);
      });
    }
    if (isDict(pipeline.defaultRoute))
      checkTo(pipeline.defaultRoute.to, [...at, 'defaultRoute', 'to'], destinations, problems);
    const hasRoutes = Array.isArray(routes) && routes.length > 0;
    if (
      !hasRoutes &&
      pipeline.defaultRoute === undefined &&
      (routes === undefined || Array.isArray(routes))
    ) {
      problems.push({
        path: [...at, 'routes'],
        message: 'a pipeline needs at least one route or a defaultRoute',
      });
    }
  }
  return problems;
}

function checkSource(
  source: unknown,
  at: PathSegments,
  connections: string[],
  problems: Problem[],
): void {
  if (!isDict(source)) return;
  const hasConnection = source.connection !== undefined;
  const hasKind = source.kind !== undefined;
  if (hasConnection === hasKind) {
    problems.push({
      path: at,
      message: hasKind
        ? 'give either "connection" or "kind", not both (the connection already has a kind)'
        : 'give "connection" (a name in connections) or "kind" (a connector kind)',
    });
  }
  if (typeof source.connection === 'string' && !connections.includes(source.connection)) {
    problems.push({
      path: [...at, 'connection'],
      message: `unknown connection "${source.connection}"${didYouMean(source.connection, connections) || knownList(connections)}`,
    });
  }
}

function checkTo(to: unknown, at: PathSegments, destinations: string[], problems: Problem[]): void {
  if (!Array.isArray(to)) return;
  const seen = new Set<string>();
  to.forEach((target, index) => {
    if (typeof target !== 'string') return;
    if (!destinations.includes(target)) {
      problems.push({
        path: [...at, index],
        message: `unknown destination "${target}"${didYouMean(target, destinations) || knownList(destinations)}`,
      });
    } else if (seen.has(target)) {
      problems.push({ path: [...at, index], message: `destination "${target}" is listed twice` });
    }
    seen.add(target);
  });
}

function duplicates(
  items: unknown[],
  at: PathSegments,
  key: string,
  what: string,
  problems: Problem[],
): void {
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    if (!isDict(item) || typeof item[key] !== 'string') return;
    const value = item[key];
    const first = seen.get(value);
    if (first !== undefined) {
      problems.push({
        path: [...at, index, key],
        message: `duplicate ${what} "${value}" (also ${at[at.length - 1]}[${first}])`,
      });
    } else {
      seen.set(value, index);
    }
  });
}

function knownList(names: string[]): string {
  return names.length === 0 ? ' (none is defined)' : ` (known: ${names.slice().sort().join(', ')})`;
}
