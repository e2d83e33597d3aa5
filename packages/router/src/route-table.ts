/**
 * Compiles a pipeline's routes once into a {@link RouteTable}, and evaluates records against it.
 * Evaluation is a pure function of the record and the table: it never writes, waits or reads
 * anything else, which is what makes dry runs and replays exact.
 *
 * @packageDocumentation
 */
import {
  ConfigError,
  type PluginRegistry,
  formatPath,
  isRecord,
  parseConfig,
  toError,
  type ConfigIssue,
  type OnError,
  type PluginContext,
  type RouteMode,
  type RouteSpec,
  type SluiceRecord,
  type TransformDefinition,
  type TransformFn,
} from '@sluice/core';
import { compileCondition, type RecordPredicate } from './conditions.js';
import { builtinTransforms } from './transforms/index.js';

/** One compiled transform step. */
export interface CompiledStep {
  readonly kind: string;
  readonly index: number;
  readonly apply: TransformFn;
}

/** One compiled route. */
export interface CompiledRoute {
  readonly name: string;
  /** Position in the configuration (`routes[index]`); `-1` for the default route. */
  readonly index: number;
  readonly priority: number;
  readonly mode: RouteMode;
  readonly onError: OnError;
  readonly to: readonly string[];
  /** Absent: the route matches every record. */
  readonly when: RecordPredicate | undefined;
  readonly steps: readonly CompiledStep[];
}

/** A compiled route table: routes sorted by priority (ties in config order), plus the default. */
export interface RouteTable {
  readonly routes: readonly CompiledRoute[];
  readonly defaultRoute: CompiledRoute | undefined;
  /** Every destination name the table may send to. */
  readonly destinations: readonly string[];
}

/** The default route: a route without condition, priority or mode. */
export type DefaultRouteSpec = Omit<RouteSpec, 'when' | 'priority' | 'mode' | 'name'> & { name?: string };

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
}

const ROUTE_KEYS = new Set(['name', 'priority', 'when', 'transform', 'to', 'mode', 'onError']);
const MODES: readonly RouteMode[] = ['stop', 'continue'];
const ON_ERROR: readonly OnError[] = ['dead-letter', 'drop', 'fail-run'];
const builtins = new Map(builtinTransforms.map((t) => [t.kind, t]));

/**
 * Compiles and validates a route table. Every problem of every route is reported at once in a
 * `ConfigError`, each with a path such as `routes[2].when` (JSONPath errors include the
 * offending position) or `routes[0].transform[1].fields`.
 *
 * @example
 * ```ts
 * const table = compileRouteTable(
 *   [{ name: 'paid', priority: 10, when: { path: '$.channel', op: 'eq', value: 'paid' }, to: ['warehouse'], mode: 'stop' }],
 *   { ctx: createPluginContext(), destinations: ['warehouse', 'archive'], defaultRoute: { to: ['archive'] } },
 * );
 * ```
 */
export function compileRouteTable(routes: readonly RouteSpec[], options: CompileRouteTableOptions): RouteTable {
  const issues: ConfigIssue[] = [];
  const prefix = options.path ?? [];
  const at = (...segments: (string | number)[]) => formatPath([...prefix, ...segments]);
  const known = new Set(options.destinations);
  if (!Array.isArray(routes)) {
    throw new ConfigError([{ path: at('routes'), message: 'must be a list of routes' }]);
  }
  const compiled: CompiledRoute[] = [];
  const names = new Map<string, number>();
  routes.forEach((spec, index) => {
    const route = compileRoute(spec, index, ['routes', index], false, options, known, issues, at);
    if (!route) return;
    const seen = names.get(route.name);
    if (seen !== undefined) {
      issues.push({ path: at('routes', index, 'name'), message: `duplicate route name "${route.name}" (also routes[${seen}])` });
    } else names.set(route.name, index);
    compiled.push(route);
  });
  let defaultRoute: CompiledRoute | undefined;
  if (options.defaultRoute !== undefined) {
    const spec = { name: 'default', ...options.defaultRoute } as RouteSpec;
    defaultRoute = compileRoute(spec, -1, ['defaultRoute'], true, options, known, issues, at);
    if (defaultRoute && names.has(defaultRoute.name)) {
      issues.push({ path: at('defaultRoute', 'name'), message: `duplicate route name "${defaultRoute.name}"` });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  // Array.prototype.sort is stable, so equal priorities keep their configuration order.
  compiled.sort((a, b) => b.priority - a.priority);
  return Object.freeze({
    routes: Object.freeze(compiled),
    defaultRoute,
    destinations: Object.freeze([...options.destinations]),
  });
}

function compileRoute(
  spec: RouteSpec,
  index: number,
  where: (string | number)[],
  isDefault: boolean,
  options: CompileRouteTableOptions,
  known: Set<string>,
  issues: ConfigIssue[],
  at: (...segments: (string | number)[]) => string,
): CompiledRoute | undefined {
  if (!isRecord(spec as unknown)) {
    issues.push({ path: at(...where), message: 'must be an object with name, to and optional when/transform' });
    return undefined;
  }
  const before = issues.length;
  for (const key of Object.keys(spec)) {
    const allowed = isDefault ? key !== 'when' && key !== 'priority' && key !== 'mode' && ROUTE_KEYS.has(key) : ROUTE_KEYS.has(key);
    if (!allowed) issues.push({ path: at(...where, key), message: isDefault ? 'not allowed on the default route' : 'unknown key' });
  }
  const name = spec.name;
  if (typeof name !== 'string' || name.trim() === '') issues.push({ path: at(...where, 'name'), message: 'must be a non-empty string' });
  const priority = spec.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    issues.push({ path: at(...where, 'priority'), message: 'must be a finite number' });
  }
  const mode = spec.mode ?? 'continue';
  if (!MODES.includes(mode)) issues.push({ path: at(...where, 'mode'), message: 'must be "stop" or "continue"' });
  const onError = spec.onError ?? 'dead-letter';
  if (!ON_ERROR.includes(onError)) {
    issues.push({ path: at(...where, 'onError'), message: 'must be "dead-letter", "drop" or "fail-run"' });
  }
  const to = spec.to;
  if (!Array.isArray(to) || to.length === 0) {
    issues.push({ path: at(...where, 'to'), message: 'must list at least one destination' });
  } else {
    const seen = new Set<string>();
    to.forEach((destination, i) => {
      if (typeof destination !== 'string' || !known.has(destination)) {
        issues.push({
          path: at(...where, 'to', i),
          message: `unknown destination ${JSON.stringify(destination)}${known.size ? ` (known: ${[...known].join(', ')})` : ''}`,
        });
      } else if (seen.has(destination)) {
        issues.push({ path: at(...where, 'to', i), message: `destination "${destination}" is listed twice` });
      }
      seen.add(destination);
    });
  }
  let when: RecordPredicate | undefined;
  if (spec.when !== undefined && !isDefault) {
    try {
      when = compileCondition(spec.when, at(...where, 'when'));
    } catch (error) {
      collect(error, issues, at(...where, 'when'));
    }
  }
  const steps: CompiledStep[] = [];
  if (spec.transform !== undefined) {
    if (!Array.isArray(spec.transform)) {
      issues.push({ path: at(...where, 'transform'), message: 'must be a list of transform steps' });
    } else {
      spec.transform.forEach((step, i) => {
        const stepPath = [...(options.path ?? []), ...where, 'transform', i];
        const compiledStep = compileStep(step, i, stepPath, options, issues);
        if (compiledStep) steps.push(compiledStep);
      });
    }
  }
  if (issues.length > before) return undefined;
  return Object.freeze({
    name,
    index,
    priority,
    mode,
    onError,
    to: Object.freeze([...to]),
    when,
    steps: Object.freeze(steps),
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
    issues.push({ path: formatPath([...path, 'kind']), message: 'each transform step needs a "kind"' });
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
        issues.push(...error.issues.map((i) => ({ path: formatPath(path) + (i.path ? `.${i.path}`.replace('.[', '[') : ''), message: i.message })));
        return undefined;
      }
      throw error;
    }
    if (typeof apply !== 'function') {
      issues.push({ path: formatPath(path), message: `transform "${kind}" did not return a function from create()` });
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
export function evaluateRecord(record: SluiceRecord, table: RouteTable): RecordEvaluation {
  let matches: RouteMatch[] | undefined;
  let failures: RouteFailure[] | undefined;
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
    const outcome = runSteps(route, record);
    if (outcome instanceof Error) (failures ??= []).push({ route, error: outcome });
    else (matches ??= []).push({ route, records: outcome });
    if (route.mode === 'stop') break;
  }
  if (matches === undefined && failures === undefined && table.defaultRoute) {
    const route = table.defaultRoute;
    const outcome = runSteps(route, record);
    if (outcome instanceof Error) failures = [{ route, error: outcome }];
    else matches = [{ route, records: outcome }];
    return { matches: matches ?? NO_MATCHES, failures: failures ?? NO_FAILURES, defaulted: true, unmatched: false };
  }
  return {
    matches: matches ?? NO_MATCHES,
    failures: failures ?? NO_FAILURES,
    defaulted: false,
    unmatched: matches === undefined && failures === undefined,
  };
}

function runSteps(route: CompiledRoute, record: SluiceRecord): readonly SluiceRecord[] | Error {
  const steps = route.steps;
  if (steps.length === 0) return [record];
  let current: SluiceRecord[] = [record];
  for (const step of steps) {
    const next: SluiceRecord[] = [];
    for (const input of current) {
      let out;
      try {
        out = step.apply(input);
      } catch (error) {
        return routeError(route, `transform[${step.index}] (${step.kind})`, toError(error));
      }
      if (out === null) continue;
      if (Array.isArray(out)) {
        for (const item of out as readonly unknown[]) {
          if (!isRecord(item)) return routeError(route, `transform[${step.index}] (${step.kind})`, new TypeError('returned a value that is not a record'));
          next.push(item);
        }
      } else if (isRecord(out)) next.push(out);
      else return routeError(route, `transform[${step.index}] (${step.kind})`, new TypeError('returned a value that is not a record'));
    }
    current = next;
    if (current.length === 0) break;
  }
  return current;
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
