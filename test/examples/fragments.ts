// Turns a YAML example from the documentation into a complete configuration document that the
// server's full validation can check. Pages show fragments — a `destinations:` section, one
// pipeline, a list of routes or transform steps — so each fragment is wrapped into the smallest
// document that exercises it:
//
// - a section of the file (keys of the top level) is used as it is;
// - pipeline keys (`source`, `schedule`, `routes`, ...) become one pipeline;
// - route keys (`when`, `transform`, `to`, ...) or a list of routes become a pipeline's routes;
// - a list of `{ kind, ... }` steps becomes a route's transform;
// - `{ kind, ... }` alone, or a map of names to `{ kind, ... }`, becomes destinations or
//   connections, depending on which plugin type the kind belongs to.
//
// Then the document is completed: a pipeline without a source reads the `sample` connector;
// a pipeline without routes gets a default route to a stub file destination; connections and
// destinations that the fragment names but does not define are taken from
// examples/sluice.example.yaml (pages refer to its `warehouse`, `slack-alerts`, `ga4-main`, ...);
// and defined connections and destinations that no pipeline uses get a pipeline that uses them,
// so that their plugin options are validated too.
import type { PluginRegistry } from '@sluice/core';

type Dict = Record<string, unknown>;

/** Name of the stub destination and of the pipelines the completion adds. */
export const STUB = 'docs-check';

const TOP_LEVEL_KEYS = [
  '$schema',
  'version',
  'store',
  'server',
  'logging',
  'plugins',
  'connections',
  'destinations',
  'pipelines',
];
const PIPELINE_KEYS = [
  'description',
  'enabled',
  'source',
  'schedule',
  'webhook',
  'api',
  'routes',
  'defaultRoute',
  'concurrency',
  'timeoutMs',
  'retry',
];
const ROUTE_KEYS = ['name', 'priority', 'when', 'transform', 'to', 'mode', 'onError', 'expect'];

const isDict = (value: unknown): value is Dict =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const keysWithin = (value: Dict, allowed: readonly string[]) =>
  Object.keys(value).length > 0 && Object.keys(value).every((key) => allowed.includes(key));
const sampleSource = (): Dict => ({ kind: 'sample' });

/** A fragment that is not recognisable as part of a Sluice configuration. */
export class NotAFragmentError extends Error {}

/** What shape the fragment had, for test names and failure messages. */
export type FragmentShape =
  | 'empty document'
  | 'document'
  | 'pipeline'
  | 'route'
  | 'routes'
  | 'transform steps'
  | 'destination'
  | 'connector source'
  | 'named plugin sections';

/** A complete document plus what the fragment was. */
export interface CompletedFragment {
  shape: FragmentShape;
  document: Dict;
}

/**
 * Wraps a parsed YAML fragment into a complete configuration document (see the file comment).
 *
 * @example
 * ```ts
 * completeFragment([{ kind: 'pick', fields: ['a'] }], { registry, example, stub }).shape; // 'transform steps'
 * ```
 */
export function completeFragment(
  value: unknown,
  context: { registry: PluginRegistry; example: Dict; stub: Dict },
): CompletedFragment {
  const { shape, document } = wrap(value, context.registry);
  complete(document, context.example, context.stub);
  return { shape, document };
}

function pipelineWith(pipeline: Dict): Dict {
  return { pipelines: { [STUB]: pipeline } };
}

function wrap(value: unknown, registry: PluginRegistry): CompletedFragment {
  if (value === null || value === undefined) return { shape: 'empty document', document: {} };
  if (Array.isArray(value)) {
    if (value.length === 0 || !value.every(isDict))
      throw new NotAFragmentError('a list whose items are not all objects');
    if (value.every((item) => keysWithin(item, ROUTE_KEYS) && 'to' in item)) {
      return { shape: 'routes', document: pipelineWith({ routes: structuredClone(value) }) };
    }
    if (
      value.every(
        (item) =>
          typeof item.kind === 'string' && registry.get('transform', item.kind) !== undefined,
      )
    ) {
      return {
        shape: 'transform steps',
        document: pipelineWith({
          routes: [{ name: STUB, transform: structuredClone(value), to: [STUB] }],
        }),
      };
    }
    throw new NotAFragmentError(
      'a list that is neither routes (with `to`) nor transform steps of known kinds',
    );
  }
  if (!isDict(value)) throw new NotAFragmentError(`a ${typeof value}, not a mapping`);
  const copy = structuredClone(value);
  if (keysWithin(copy, TOP_LEVEL_KEYS)) return { shape: 'document', document: copy };
  if (keysWithin(copy, PIPELINE_KEYS)) return { shape: 'pipeline', document: pipelineWith(copy) };
  if (keysWithin(copy, ROUTE_KEYS))
    return {
      shape: 'route',
      document: pipelineWith({ routes: [{ name: STUB, to: [STUB], ...copy }] }),
    };
  if (typeof copy.kind === 'string') {
    if (registry.get('destination', copy.kind))
      return {
        shape: 'destination',
        document: { destinations: { [`${STUB}-destination`]: copy } },
      };
    if (registry.get('connector', copy.kind))
      return { shape: 'connector source', document: pipelineWith({ source: copy }) };
    throw new NotAFragmentError(`kind "${copy.kind}" is neither a destination nor a connector`);
  }
  const entries = Object.entries(copy);
  if (
    entries.length > 0 &&
    entries.every(([, section]) => isDict(section) && typeof section.kind === 'string')
  ) {
    const destinations: Dict = {};
    const connections: Dict = {};
    for (const [name, section] of entries) {
      const kind = (section as Dict).kind as string;
      if (registry.get('destination', kind)) destinations[name] = section;
      else if (registry.get('connector', kind)) connections[name] = section;
      else
        throw new NotAFragmentError(
          `${name}: kind "${kind}" is neither a destination nor a connector`,
        );
    }
    return { shape: 'named plugin sections', document: { destinations, connections } };
  }
  throw new NotAFragmentError(
    `keys ${Object.keys(copy).join(', ')} are not those of a configuration, pipeline, route or plugin section`,
  );
}

function complete(document: Dict, example: Dict, stub: Dict): void {
  // A section of the wrong type is left as written, for the validation to report; the
  // completion works on a scratch object instead.
  const section = (name: 'connections' | 'destinations' | 'pipelines'): Dict => {
    if (document[name] === undefined) document[name] = {};
    return isDict(document[name]) ? document[name] : {};
  };
  const connections = section('connections');
  const destinations = section('destinations');
  const pipelines = section('pipelines');
  const exampleConnections = isDict(example.connections) ? example.connections : {};
  const exampleDestinations = isDict(example.destinations) ? example.destinations : {};

  const usedConnections = new Set<string>();
  const usedDestinations = new Set<string>();
  for (const pipeline of Object.values(pipelines)) {
    if (!isDict(pipeline)) continue;
    if (pipeline.source === undefined) pipeline.source = sampleSource();
    if (pipeline.routes === undefined && pipeline.defaultRoute === undefined)
      pipeline.defaultRoute = { to: [STUB] };
    if (isDict(pipeline.source) && typeof pipeline.source.connection === 'string')
      usedConnections.add(pipeline.source.connection);
    const routes = [
      ...(Array.isArray(pipeline.routes) ? pipeline.routes : []),
      pipeline.defaultRoute,
    ];
    for (const route of routes) {
      if (isDict(route) && Array.isArray(route.to))
        for (const to of route.to) if (typeof to === 'string') usedDestinations.add(to);
    }
  }

  const unusedDestinations = Object.keys(destinations).filter(
    (name) => !usedDestinations.has(name),
  );
  if (unusedDestinations.length > 0) {
    pipelines[`${STUB}-destinations`] = {
      source: sampleSource(),
      routes: [{ name: STUB, to: unusedDestinations }],
    };
  }
  for (const name of Object.keys(connections).filter((n) => !usedConnections.has(n))) {
    pipelines[`${STUB}-${name}`] = { source: { connection: name }, defaultRoute: { to: [STUB] } };
    usedDestinations.add(STUB);
  }

  for (const name of usedConnections) {
    if (!(name in connections) && name in exampleConnections)
      connections[name] = structuredClone(exampleConnections[name]);
  }
  for (const name of usedDestinations) {
    if (name in destinations) continue;
    if (name === STUB) destinations[name] = structuredClone(stub);
    else if (name in exampleDestinations)
      destinations[name] = structuredClone(exampleDestinations[name]);
  }
}
