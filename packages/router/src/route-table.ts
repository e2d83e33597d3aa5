/**
 * Compiles a pipeline's routes once into a {@link RouteTable}, and evaluates records against it.
 * Evaluation is a pure function of the record and the table: it never writes, waits or reads
 * anything else, which is what makes dry runs and replays exact.
 *
 * @packageDocumentation
 */
import {
  ConfigError,
  ON_ERROR_POLICIES,
  ROUTE_MODES,
  type PluginRegistry,
  formatPath,
  isRecord,
  parseConfig,
  toError,
  type ConfigIssue,
  type ExpectationSpec,
  type OnError,
  type PluginContext,
  type RouteMode,
  type RouteSpec,
  type SluiceRecord,
  type TransformDefinition,
  type TransformSpec,
  type TransformFn,
} from '@sluice/core';
import { compileCondition, type RecordPredicate } from './conditions.js';
import { compileExpectations, type CompiledExpectation } from './expectations/compile.js';
import { builtinTransforms } from './transforms/index.js';

/** One compiled transform step. */
export interface CompiledStep {
  readonly kind: string;
  readonly index: number;
  readonly apply: TransformFn;
  /**
   * Set when other routes of the table start with the same chain of steps up to this one (same
   * built-in kinds, same options): the number of that chain prefix. Evaluating a record runs a
   * shared prefix once and hands its output to every route that starts with it.
   */
  readonly shared?: number;
}

/** One compiled route. */
export interface CompiledRoute {
  readonly name: string;
  /** Position in the configuration (`routes[index]`); `-1` for the default route and the pipeline transform. */
  readonly index: number;
  readonly priority: number;
  readonly mode: RouteMode;
  readonly onError: OnError;
  readonly to: readonly string[];
  /** Absent: the route matches every record. */
  readonly when: RecordPredicate | undefined;
  readonly steps: readonly CompiledStep[];
  /** The route's `expect` list, compiled; absent when it has none. */
  readonly expectations?: readonly CompiledExpectation[];
}

/** A compiled route table: routes sorted by priority (ties in config order), plus the default. */
export interface RouteTable {
  readonly routes: readonly CompiledRoute[];
  readonly defaultRoute: CompiledRoute | undefined;
  /** Every destination name the table may send to. */
  readonly destinations: readonly string[];
  /**
   * The compiled `expect` lists of the table's destinations that declare one (checked on every
   * record the destination receives, from any route, after the route's own expectations).
   * Absent or empty: no destination declares any.
   */
  readonly destinationExpectations?: ReadonlyMap<string, readonly CompiledExpectation[]>;
  /**
   * The pipeline-level transform (`pipelines.<name>.transform`), run once on each record before
   * any condition: a route named {@link PIPELINE_TRANSFORM_ROUTE} that sends to every destination
   * some route of the table sends to, so a record the steps fail on is dead-lettered once per
   * such destination (and a replay to one destination runs the steps again) and a record they
   * drop is counted as that route's `droppedByTransform`. Absent: the pipeline has no such steps.
   */
  readonly transform?: CompiledRoute;
}

/**
 * Name of the route that stands for the pipeline-level transform in counts, dead letters and
 * metrics. Route names cannot hold parentheses, so it never clashes with a configured route.
 */
export const PIPELINE_TRANSFORM_ROUTE = '(pipeline transform)';

/** The default route: a route without condition, priority or mode. */
export type DefaultRouteSpec = Omit<RouteSpec, 'when' | 'priority' | 'mode' | 'name'> & {
  name?: string;
};

/** Options of {@link compileRouteTable}. */
export interface CompileRouteTableOptions {
  /** Where plugin transforms are looked up; built-in transforms are found even when absent. */
  registry?: PluginRegistry;
  ctx: PluginContext;
  /** Where records that match no route go. Absent: they are counted as unmatched. */
  defaultRoute?: DefaultRouteSpec;
  /** Names of the pipeline's destinations; every route's `to` must name one of them. */
  destinations: readonly string[];
  /** Prefix of config paths in errors, e.g. `['pipelines', 'daily']`. Default none. */
  path?: readonly (string | number)[];
  /**
   * The destinations' own `expect` lists, by destination name (`destinations.<name>.expect` of
   * the configuration); lists of names not in `destinations` are ignored. Their problems are
   * reported at `destinations.<name>.expect[i]...`, without the `path` prefix: a destination is
   * configured once, outside any pipeline.
   */
  destinationExpectations?: Readonly<Record<string, readonly ExpectationSpec[] | undefined>>;
  /**
   * Pipeline-level transform steps (`pipelines.<name>.transform`), reported at `transform[i]`
   * under `path`: run once on each record before any condition, so conditions and every route
   * see their output. A step must give one record or none (`drop`); `unnest` is refused here
   * (it belongs in a route).
   */
  transform?: readonly TransformSpec[];
}

const builtins = new Map(builtinTransforms.map((t) => [t.kind, t]));
const ROUTE_KEYS: ReadonlySet<string> = new Set([
  'name',
  'priority',
  'when',
  'transform',
  'to',
  'mode',
  'onError',
  'expect',
]);
const DEFAULT_ROUTE_KEYS: ReadonlySet<string> = new Set([
  'name',
  'transform',
  'to',
  'onError',
  'expect',
]);

/**
 * Whether `value` has the shape of a route as `@sluice/config`'s `RouteSchema` (or, with
 * `isDefault`, `DefaultRouteSchema`) outputs it. The schema is the one validation of routes and
 * explains every problem; the router only refuses to compile what is not a route at all, so an
 * embedder who skipped the schema gets one clear error instead of a wrong table. Returns the
 * first key that does not fit, or `undefined` when the value is a route.
 *
 * @example
 * ```ts
 * routeShapeProblem({ name: 'all', to: ['db'] });            // undefined
 * routeShapeProblem({ name: 'all', to: ['db'], mode: 'x' }); // "mode"
 * ```
 */
export function routeShapeProblem(value: unknown, isDefault = false): string | undefined {
  if (!isRecord(value)) return '(not an object)';
  const spec = value as Record<string, unknown>;
  const keys = isDefault ? DEFAULT_ROUTE_KEYS : ROUTE_KEYS;
  const unknown = Object.keys(spec).find((key) => !keys.has(key));
  if (unknown !== undefined) return unknown;
  if (
    !(isDefault && spec.name === undefined) &&
    (typeof spec.name !== 'string' || spec.name.trim() === '')
  )
    return 'name';
  if (
    !Array.isArray(spec.to) ||
    spec.to.length === 0 ||
    !spec.to.every((d) => typeof d === 'string')
  )
    return 'to';
  if (
    spec.priority !== undefined &&
    (typeof spec.priority !== 'number' || !Number.isFinite(spec.priority))
  )
    return 'priority';
  if (spec.mode !== undefined && !ROUTE_MODES.includes(spec.mode as RouteMode)) return 'mode';
  if (spec.onError !== undefined && !ON_ERROR_POLICIES.includes(spec.onError as OnError))
    return 'onError';
  if (spec.transform !== undefined && !Array.isArray(spec.transform)) return 'transform';
  if (spec.expect !== undefined && !Array.isArray(spec.expect)) return 'expect';
  return undefined;
}

/** What compiling one table shares between its routes. */
interface TableCompilation {
  readonly options: CompileRouteTableOptions;
  /** Destination names a route may send to. */
  readonly known: ReadonlySet<string>;
  /** Problems found so far, reported together. */
  readonly issues: ConfigIssue[];
  /** A config path below the table's prefix, formatted. */
  readonly at: (...segments: (string | number)[]) => string;
  /** Per compiled step: the canonical text of its route's chain up to it, when it can be shared. */
  readonly prefixes: Map<CompiledStep, string>;
}

/** One route to compile: the spec and where it stands in the configuration. */
interface RouteToCompile {
  readonly spec: RouteSpec;
  /** Position in `routes`; `-1` for the default route. */
  readonly index: number;
  /** Config path segments of the route (`['routes', 2]` or `['defaultRoute']`). */
  readonly where: readonly (string | number)[];
  readonly isDefault: boolean;
}

/**
 * Compiles a route table from validated routes (the output of `@sluice/config`'s route schemas,
 * or routes typed as {@link RouteSpec}): conditions and field paths are parsed, transform steps
 * compiled with their own schemas, and `to` linked to the pipeline's destinations. Every problem
 * of every route is reported at once in a `ConfigError`, each with a path such as
 * `routes[2].when` (JSONPath errors include the offending position) or
 * `routes[0].transform[1].fields`; a value that is not a route at all is one issue at its path
 * ({@link routeShapeProblem}).
 *
 * @example
 * ```ts
 * const table = compileRouteTable(
 *   [{ name: 'paid', priority: 10, when: { path: '$.channel', op: 'eq', value: 'paid' }, to: ['warehouse'], mode: 'stop' }],
 *   { ctx: createPluginContext(), destinations: ['warehouse', 'archive'], defaultRoute: { to: ['archive'] } },
 * );
 * ```
 */
export function compileRouteTable(
  routes: readonly RouteSpec[],
  options: CompileRouteTableOptions,
): RouteTable {
  const prefix = options.path ?? [];
  const table: TableCompilation = {
    options,
    known: new Set(options.destinations),
    issues: [],
    at: (...segments) => formatPath([...prefix, ...segments]),
    prefixes: new Map(),
  };
  if (!Array.isArray(routes)) {
    throw new ConfigError([{ path: table.at('routes'), message: 'must be a list of routes' }]);
  }
  const compiled: CompiledRoute[] = [];
  const names = new Map<string, number>();
  routes.forEach((spec, index) => {
    const route = compileRoute({ spec, index, where: ['routes', index], isDefault: false }, table);
    if (!route) return;
    // Names key the router's counts, dead letters and metrics: a table cannot hold two.
    const seen = names.get(route.name);
    if (seen !== undefined) {
      table.issues.push({
        path: table.at('routes', index, 'name'),
        message: `duplicate route name "${route.name}" (also routes[${seen}])`,
      });
    } else names.set(route.name, index);
    compiled.push(route);
  });
  let defaultRoute: CompiledRoute | undefined;
  if (options.defaultRoute !== undefined) {
    const spec = { name: 'default', ...options.defaultRoute } as RouteSpec;
    defaultRoute = compileRoute(
      { spec, index: -1, where: ['defaultRoute'], isDefault: true },
      table,
    );
    if (defaultRoute && names.has(defaultRoute.name)) {
      table.issues.push({
        path: table.at('defaultRoute', 'name'),
        message: `duplicate route name "${defaultRoute.name}"`,
      });
    }
  }
  const destinationExpectations = compileDestinationExpectations(options, table.issues);
  const transform = compilePipelineTransform(options, table, [
    ...compiled,
    ...(defaultRoute ? [defaultRoute] : []),
  ]);
  if (table.issues.length > 0) throw new ConfigError(table.issues);
  // Array.prototype.sort is stable, so equal priorities keep their configuration order.
  compiled.sort((a, b) => b.priority - a.priority);
  return Object.freeze({
    routes: Object.freeze(shareStepPrefixes(compiled, table.prefixes)),
    defaultRoute,
    destinations: Object.freeze([...options.destinations]),
    destinationExpectations,
    ...(transform ? { transform } : {}),
  });
}

// Multi-record steps cannot run before routing: a record's position, acknowledgement and dead
// letters are those of one input record, and routes decide on records, not on fragments.
const ONE_RECORD_ONLY: ReadonlySet<string> = new Set(['unnest']);

// The pipeline-level steps as the route that stands for them (see RouteTable.transform).
function compilePipelineTransform(
  options: CompileRouteTableOptions,
  table: TableCompilation,
  routes: readonly CompiledRoute[],
): CompiledRoute | undefined {
  const specs = options.transform;
  if (specs === undefined) return undefined;
  if (!Array.isArray(specs)) {
    table.issues.push({
      path: table.at('transform'),
      message: 'must be a list of transform steps',
    });
    return undefined;
  }
  if (specs.length === 0) return undefined;
  const steps: CompiledStep[] = [];
  specs.forEach((step: unknown, i) => {
    if (isRecord(step) && typeof step.kind === 'string' && ONE_RECORD_ONLY.has(step.kind)) {
      table.issues.push({
        path: table.at('transform', i, 'kind'),
        message: `"${step.kind}" turns one record into several, which a pipeline-level step cannot do (each input stays one record until a route sees it); use it in a route's transform`,
      });
      return;
    }
    const compiled = compileStep(
      step,
      i,
      [...(options.path ?? []), 'transform', i],
      options,
      table.issues,
    );
    if (compiled) steps.push(compiled);
  });
  return Object.freeze({
    name: PIPELINE_TRANSFORM_ROUTE,
    index: -1,
    priority: 0,
    mode: 'continue' as const,
    onError: 'dead-letter' as const,
    // The destinations a route sends to: a failed record is dead-lettered once for each.
    to: Object.freeze(options.destinations.filter((d) => routes.some((r) => r.to.includes(d)))),
    when: undefined,
    steps: Object.freeze(steps),
  });
}

// Each destination of the table with an `expect` list: compiled by the routes' compiler, at the
// destination's own config path.
function compileDestinationExpectations(
  options: CompileRouteTableOptions,
  issues: ConfigIssue[],
): ReadonlyMap<string, readonly CompiledExpectation[]> {
  const out = new Map<string, readonly CompiledExpectation[]>();
  const specs = options.destinationExpectations ?? {};
  for (const name of options.destinations) {
    if (!Object.hasOwn(specs, name)) continue;
    const list = compileExpectations(
      specs[name],
      formatPath(['destinations', name, 'expect']),
      issues,
    );
    if (list.length > 0) out.set(name, Object.freeze(list));
  }
  return out;
}

function compileRoute(route: RouteToCompile, table: TableCompilation): CompiledRoute | undefined {
  const { spec, index, where, isDefault } = route;
  const { issues, at } = table;
  const problem = routeShapeProblem(isDefault ? withoutDefaultName(spec) : spec, isDefault);
  if (problem !== undefined) {
    issues.push({
      path: at(...where),
      message: `is not a route${problem.startsWith('(') ? ` ${problem}` : ` (${JSON.stringify(problem)} does not fit)`}; validate routes with @sluice/config's ${isDefault ? 'DefaultRouteSchema' : 'RouteSchema'}, which names every problem`,
    });
    return undefined;
  }
  const before = issues.length;
  const to = linkDestinations(spec.to, where, table);
  let when: RecordPredicate | undefined;
  if (spec.when !== undefined) {
    try {
      when = compileCondition(spec.when, at(...where, 'when'));
    } catch (error) {
      collect(error, issues, at(...where, 'when'));
    }
  }
  const steps: CompiledStep[] = [];
  // The chain so far, spelled canonically, while every step of it is a shareable built-in.
  let chain: string | undefined = '';
  (spec.transform ?? []).forEach((step, i) => {
    const compiledStep = compileStep(
      step,
      i,
      [...(table.options.path ?? []), ...where, 'transform', i],
      table.options,
      issues,
    );
    if (!compiledStep) return;
    steps.push(compiledStep);
    chain =
      chain !== undefined && isShareable(step, table.options)
        ? `${chain}${canonicalJson(step)}\n`
        : undefined;
    if (chain !== undefined) table.prefixes.set(compiledStep, chain);
  });
  const expectations = compileExpectations(spec.expect, at(...where, 'expect'), issues);
  if (issues.length > before) return undefined;
  return Object.freeze({
    name: spec.name,
    index,
    priority: spec.priority ?? DEFAULT_PRIORITY,
    mode: spec.mode ?? DEFAULT_MODE,
    onError: spec.onError ?? DEFAULT_ON_ERROR,
    to: Object.freeze(to),
    when,
    steps: Object.freeze(steps),
    ...(expectations.length > 0 ? { expectations: Object.freeze(expectations) } : {}),
  });
}

// Defaults of a route typed as RouteSpec (the config's schema applies the same ones from its DEFAULTS).
const DEFAULT_PRIORITY = 0;
const DEFAULT_MODE: RouteMode = 'continue';
const DEFAULT_ON_ERROR: OnError = ON_ERROR_POLICIES[0]!;

// The default route's `name` is the router's own ("default") unless the embedder gave one.
function withoutDefaultName(spec: RouteSpec): unknown {
  const { name, ...rest } = spec;
  return name === 'default' ? rest : spec;
}

// Linking: a route can only be compiled to destinations the pipeline has.
function linkDestinations(
  to: readonly string[],
  where: readonly (string | number)[],
  table: TableCompilation,
): string[] {
  const linked: string[] = [];
  to.forEach((destination, i) => {
    if (!table.known.has(destination)) {
      table.issues.push({
        path: table.at(...where, 'to', i),
        message: `unknown destination ${JSON.stringify(destination)}${table.known.size ? ` (known: ${[...table.known].join(', ')})` : ''}`,
      });
    } else if (linked.includes(destination)) {
      table.issues.push({
        path: table.at(...where, 'to', i),
        message: `destination "${destination}" is listed twice`,
      });
    } else linked.push(destination);
  });
  return linked;
}

// Built-in transforms are pure functions of the record and their options, so the same chain of
// them gives the same output in every route. `template` is left out: Liquid's `date` filter can
// read the clock. Plugin transforms are never shared (nothing says they are pure).
const SHAREABLE_KINDS: ReadonlySet<string> = new Set([
  'pick',
  'omit',
  'rename',
  'set',
  'cast',
  'flatten',
  'unnest',
  'compute',
  'drop',
]);

function isShareable(step: unknown, options: CompileRouteTableOptions): boolean {
  if (!isRecord(step) || typeof step.kind !== 'string' || !SHAREABLE_KINDS.has(step.kind))
    return false;
  const builtin = builtins.get(step.kind);
  const registered = options.registry?.get('transform', step.kind);
  return registered === undefined || registered === builtin;
}

// JSON with object keys sorted, so `{ a, b }` and `{ b, a }` options are the same chain.
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map(
        (key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`,
      );
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// Numbers the chain prefixes that more than one route starts with, and marks those steps. (The
// default route runs only when no route matched, so it never shares.)
function shareStepPrefixes(
  routes: CompiledRoute[],
  prefixes: ReadonlyMap<CompiledStep, string>,
): CompiledRoute[] {
  const uses = new Map<string, number>();
  for (const route of routes) {
    for (const step of route.steps) {
      const key = prefixes.get(step);
      if (key !== undefined) uses.set(key, (uses.get(key) ?? 0) + 1);
    }
  }
  const ids = new Map<string, number>();
  for (const [key, count] of uses) if (count > 1) ids.set(key, ids.size);
  if (ids.size === 0) return routes;
  const idOf = (step: CompiledStep) => {
    const key = prefixes.get(step);
    return key === undefined ? undefined : ids.get(key);
  };
  return routes.map((route) => {
    if (!route.steps.some((step) => idOf(step) !== undefined)) return route;
    const steps = route.steps.map((step) => {
      const shared = idOf(step);
      return shared === undefined ? step : Object.freeze({ ...step, shared });
    });
    return Object.freeze({ ...route, steps: Object.freeze(steps) });
  });
}

function compileStep(
  step: unknown,
  index: number,
  path: (string | number)[],
  options: CompileRouteTableOptions,
  issues: ConfigIssue[],
): CompiledStep | undefined {
  if (!isRecord(step) || typeof step.kind !== 'string') {
    issues.push({
      path: formatPath([...path, 'kind']),
      message: 'each transform step needs a "kind"',
    });
    return undefined;
  }
  const kind = step.kind;
  const definition: TransformDefinition<unknown> | undefined =
    options.registry?.get('transform', kind) ?? builtins.get(kind);
  if (!definition) {
    const kinds = new Set([...builtins.keys(), ...(options.registry?.kinds('transform') ?? [])]);
    issues.push({
      path: formatPath([...path, 'kind']),
      message: `unknown transform kind "${kind}" (known: ${[...kinds].sort().join(', ')})`,
    });
    return undefined;
  }
  const { kind: _kind, ...config } = step;
  try {
    const parsed = parseConfig(definition.configSchema, config, path);
    let apply: TransformFn;
    try {
      apply = definition.create(parsed, options.ctx);
    } catch (error) {
      // Issues raised while compiling (bad JSONPath, template, expression) are relative to the step.
      if (error instanceof ConfigError) {
        issues.push(
          ...error.issues.map((i) => ({
            path: formatPath(path) + (i.path ? `.${i.path}`.replace('.[', '[') : ''),
            message: i.message,
          })),
        );
        return undefined;
      }
      throw error;
    }
    if (typeof apply !== 'function') {
      issues.push({
        path: formatPath(path),
        message: `transform "${kind}" did not return a function from create()`,
      });
      return undefined;
    }
    return Object.freeze({ kind, index, apply });
  } catch (error) {
    collect(error, issues, formatPath(path));
    return undefined;
  }
}

function collect(error: unknown, issues: ConfigIssue[], path: string): void {
  if (error instanceof ConfigError) issues.push(...error.issues);
  else issues.push({ path, message: toError(error).message });
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** A route that matched a record, with what its transforms produced. */
export interface RouteMatch {
  readonly route: CompiledRoute;
  /** Output records (none when a transform dropped the record; several after `unnest`). */
  readonly records: readonly SluiceRecord[];
  /**
   * Per destination of the route, the indexes in `records` of outputs that destination's
   * expectations took out of delivery to it (they go to the route's other destinations).
   */
  readonly withheld?: ReadonlyMap<string, ReadonlySet<number>>;
}

/** A route whose condition or transforms failed for a record. */
export interface RouteFailure {
  readonly route: CompiledRoute;
  readonly error: Error;
}

/** Where one record goes, according to the table. */
export interface RecordEvaluation {
  readonly matches: readonly RouteMatch[];
  readonly failures: readonly RouteFailure[];
  /** True when no route matched and the default route took the record. */
  readonly defaulted: boolean;
  /** True when no route (not even a default) took the record. */
  readonly unmatched: boolean;
}

const NO_MATCHES: readonly RouteMatch[] = Object.freeze([]);
const NO_FAILURES: readonly RouteFailure[] = Object.freeze([]);

/**
 * Evaluates one record against a compiled table: routes in priority order, `stop` ending
 * evaluation after a match, the default route when nothing matched. A route whose condition or
 * transform throws is reported in `failures` (and counts as matched for `stop`: the record was
 * meant for it). Pure: the same record and table always give the same result.
 *
 * @example
 * ```ts
 * const { matches } = evaluateRecord({ channel: 'paid', sessions: 3 }, table);
 * matches.map((m) => m.route.name); // ['paid']
 * ```
 */
export function evaluateRecord(input: SluiceRecord, table: RouteTable): RecordEvaluation {
  let record = input;
  if (table.transform !== undefined) {
    const outcome = runSteps(table.transform, input);
    if (outcome instanceof Error || outcome.length !== 1)
      return endedBeforeRouting(table.transform, outcome);
    record = outcome[0]!;
  }
  let matches: RouteMatch[] | undefined;
  let failures: RouteFailure[] | undefined;
  // Outputs of chain prefixes several routes share, made when the first such route matches.
  let shared: SharedOutputs | undefined;
  for (const route of table.routes) {
    let matched: boolean;
    try {
      matched = route.when === undefined || route.when(record);
    } catch (error) {
      (failures ??= []).push({ route, error: routeError(route, 'condition', toError(error)) });
      if (route.mode === 'stop') break;
      continue;
    }
    if (!matched) continue;
    if (needsShared(route)) shared ??= new Map();
    const outcome = runSteps(route, record, shared);
    if (outcome instanceof Error) (failures ??= []).push({ route, error: outcome });
    else (matches ??= []).push({ route, records: outcome });
    if (route.mode === 'stop') break;
  }
  if (matches === undefined && failures === undefined && table.defaultRoute) {
    const route = table.defaultRoute;
    // The default route runs only when no route matched, so nothing is shared with it yet.
    const outcome = runSteps(route, record);
    if (outcome instanceof Error) failures = [{ route, error: outcome }];
    else matches = [{ route, records: outcome }];
    return {
      matches: matches ?? NO_MATCHES,
      failures: failures ?? NO_FAILURES,
      defaulted: true,
      unmatched: false,
    };
  }
  return {
    matches: matches ?? NO_MATCHES,
    failures: failures ?? NO_FAILURES,
    defaulted: false,
    unmatched: matches === undefined && failures === undefined,
  };
}

// The evaluation of a record the pipeline-level steps dropped (no output) or failed on (an
// error, or several outputs where one record must stay one).
function endedBeforeRouting(
  stage: CompiledRoute,
  outcome: readonly SluiceRecord[] | Error,
): RecordEvaluation {
  if (Array.isArray(outcome) && outcome.length === 0)
    return {
      matches: [{ route: stage, records: outcome }],
      failures: NO_FAILURES,
      defaulted: false,
      unmatched: false,
    };
  const error =
    outcome instanceof Error
      ? outcome
      : routeError(
          stage,
          'transform',
          new TypeError(
            `gave ${(outcome as readonly SluiceRecord[]).length} records for one; a pipeline-level step must give one record or none`,
          ),
        );
  return {
    matches: NO_MATCHES,
    failures: [{ route: stage, error }],
    defaulted: false,
    unmatched: false,
  };
}

/** For one record: what each shared chain prefix produced, or the step of it that failed. */
type SharedOutputs = Map<number, readonly SluiceRecord[] | StepFailure>;

interface StepFailure {
  readonly step: CompiledStep;
  readonly cause: Error;
}

// Shared prefixes always begin at the first step, so that step says whether a cache can help.
function needsShared(route: CompiledRoute): boolean {
  return route.steps.length > 0 && route.steps[0]!.shared !== undefined;
}

function runSteps(
  route: CompiledRoute,
  record: SluiceRecord,
  shared?: SharedOutputs,
): readonly SluiceRecord[] | Error {
  const steps = route.steps;
  if (steps.length === 0) return [record];
  let current: readonly SluiceRecord[] = [record];
  let start = 0;
  if (shared) {
    // Resume after the longest prefix another route already ran for this record.
    for (; start < steps.length; start++) {
      const id = steps[start]!.shared;
      const done = id === undefined ? undefined : shared.get(id);
      if (done === undefined) break;
      if (!Array.isArray(done)) {
        const failure = done as StepFailure;
        return routeError(route, stageOf(failure.step), failure.cause);
      }
      current = done as readonly SluiceRecord[];
      if (current.length === 0) return current;
    }
  }
  for (let i = start; i < steps.length; i++) {
    const step = steps[i]!;
    const next = applyStep(step, current);
    if (!Array.isArray(next)) {
      const cause = next as Error;
      if (shared && step.shared !== undefined) shared.set(step.shared, { step, cause });
      return routeError(route, stageOf(step), cause);
    }
    if (shared && step.shared !== undefined) shared.set(step.shared, next);
    current = next;
    if (current.length === 0) break;
  }
  return current;
}

function stageOf(step: CompiledStep): string {
  return `transform[${step.index}] (${step.kind})`;
}

// One step over every record so far: its outputs, or the error (not yet naming the route).
function applyStep(step: CompiledStep, current: readonly SluiceRecord[]): SluiceRecord[] | Error {
  const next: SluiceRecord[] = [];
  for (const input of current) {
    let out;
    try {
      out = step.apply(input);
    } catch (error) {
      return toError(error);
    }
    if (out === null) continue;
    if (Array.isArray(out)) {
      for (const item of out as readonly unknown[]) {
        if (!isRecord(item)) return new TypeError('returned a value that is not a record');
        next.push(item);
      }
    } else if (isRecord(out)) next.push(out);
    else return new TypeError('returned a value that is not a record');
  }
  return next;
}

/** A record's failure in a route's condition or transform, naming where it happened. */
export class RouteEvaluationError extends Error {
  override readonly name = 'RouteEvaluationError';
  readonly route: string;
  readonly stage: string;
  constructor(route: string, stage: string, cause: Error) {
    super(`route "${route}" ${stage}: ${cause.message}`, { cause });
    this.route = route;
    this.stage = stage;
  }
}

function routeError(route: CompiledRoute, stage: string, cause: Error): RouteEvaluationError {
  return new RouteEvaluationError(route.name, stage, cause);
}
