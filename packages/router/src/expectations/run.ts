/**
 * Expectations at run time: tests each route's outputs against the route's record checks, then
 * what each destination receives (from any route) against the destination's, keeps the run's
 * state for `unique`, `row-count` and `freshness` per route and per destination, counts
 * violations per check, and decides per output what happens (the most severe action of the
 * checks it violates: `fail-run` > `dead-letter` > `drop` > `warn`). Used by the router and by
 * dry runs alike, so a dry run shows exactly what a run would do.
 *
 * @packageDocumentation
 */
import type { ExpectationAction, ExpectationCheck, JsonValue, SluiceRecord } from '@sluice/core';
import type { CompiledRoute, RecordEvaluation, RouteMatch } from '../route-table.js';
import type { CompiledExpectation, ExpectationProblem } from './compile.js';

/** A violated expectation, with the message a dead letter or a failed run carries. */
export interface ExpectationViolation {
  /**
   * A route's expectation: that route. A destination's: the route that sent the record (`''`
   * for the destination's run checks, which test no one record).
   */
  readonly route: string;
  /** Set when the expectation is a destination's (`destinations.<name>.expect`). */
  readonly destination?: string;
  readonly expectation: string;
  readonly check: ExpectationCheck;
  readonly action: ExpectationAction;
  readonly field: string | undefined;
  readonly value: JsonValue | undefined;
  readonly message: string;
}

/**
 * An output of a route that expectations took out of delivery: the route's (no `destination`:
 * it goes to none of the route's destinations) or a destination's (it does not go to that one).
 */
export interface RejectedOutput {
  readonly route: CompiledRoute;
  /** The destination whose expectation rejected the output; absent for a route's expectation. */
  readonly destination?: string;
  /** With `destination`: the output's index in the match's `records` (as in `withheld`). */
  readonly index?: number;
  readonly record: SluiceRecord;
  /** `dead-letter`, `drop` or `fail-run`. */
  readonly action: ExpectationAction;
  /** The violation whose action applies (the first of that action). */
  readonly violation: ExpectationViolation;
}

/** The counts of one expectation in a run. */
export interface ExpectationSummary {
  check: ExpectationCheck;
  action: ExpectationAction;
  field?: string;
  /** Records (or runs, for run checks) tested. */
  checked: number;
  violations: number;
}

/** The error an expectation's dead letter or failed run carries. */
export class ExpectationError extends Error {
  override readonly name = 'ExpectationError';
  constructor(
    message: string,
    readonly violation: ExpectationViolation,
  ) {
    super(message);
  }
}

const SEVERITY: Record<ExpectationAction, number> = {
  warn: 0,
  drop: 1,
  'dead-letter': 2,
  'fail-run': 3,
};

interface Tally {
  readonly expectation: CompiledExpectation;
  checked: number;
  violations: number;
  /** `unique`: keys seen so far in the run. */
  readonly seen?: Set<string>;
  /** `freshness`: the newest time seen (ms). */
  newest?: number;
}

/** The expectations of one route or one destination, and their state in the run. */
interface Scope {
  readonly destination: boolean;
  readonly name: string;
  readonly tallies: readonly Tally[];
  /** Outputs that passed the record checks (for `row-count`). */
  kept: number;
}

function scopeOf(
  destination: boolean,
  name: string,
  list: readonly CompiledExpectation[],
): Scope | undefined {
  if (list.length === 0) return undefined;
  return {
    destination,
    name,
    kept: 0,
    tallies: list.map((expectation) => ({
      expectation,
      checked: 0,
      violations: 0,
      ...(expectation.check === 'unique' ? { seen: new Set<string>() } : {}),
    })),
  };
}

/** Whether any route of a table declares expectations. */
export function hasExpectations(routes: readonly CompiledRoute[]): boolean {
  return routes.some((r) => (r.expectations?.length ?? 0) > 0);
}

/**
 * The expectations of one run over a table's routes and its destinations.
 *
 * @example
 * ```ts
 * const run = new ExpectationRun(allRoutes, table.destinationExpectations);
 * const { evaluation: kept, rejected, violations } = run.apply(evaluateRecord(record, table));
 * const atEnd = run.finish(recordsIn, Date.now());
 * ```
 */
export class ExpectationRun {
  readonly #routes = new Map<string, Scope>();
  readonly #destinations = new Map<string, Scope>();
  #finished = false;

  /**
   * @param routes - Every route of the table (the default route too); those with `expect` count.
   * @param destinations - The destinations' compiled `expect` lists, by destination name.
   */
  constructor(
    routes: readonly CompiledRoute[],
    destinations?: ReadonlyMap<string, readonly CompiledExpectation[]>,
  ) {
    for (const route of routes) {
      const scope = scopeOf(false, route.name, route.expectations ?? []);
      if (scope) this.#routes.set(route.name, scope);
    }
    for (const [name, list] of destinations ?? []) {
      const scope = scopeOf(true, name, list);
      if (scope) this.#destinations.set(name, scope);
    }
  }

  /** True when some route or destination has expectations. */
  get active(): boolean {
    return this.#routes.size > 0 || this.#destinations.size > 0;
  }

  /**
   * Tests the outputs of every matching route: first against the route's expectations, then
   * each output that passed against the expectations of each of the route's destinations.
   * Returns the evaluation with rejected outputs removed — a route's rejections from the
   * match's `records` (a match whose outputs were all rejected is left out, and listed in
   * `emptied`), a destination's in the match's `withheld` — the rejected outputs, and every
   * violation (warnings included).
   */
  apply(evaluation: RecordEvaluation): {
    evaluation: RecordEvaluation;
    rejected: RejectedOutput[];
    violations: ExpectationViolation[];
    emptied: RouteMatch[];
  } {
    const rejected: RejectedOutput[] = [];
    const violations: ExpectationViolation[] = [];
    const emptied: RouteMatch[] = [];
    let changed = false;
    const matches: RouteMatch[] = [];
    for (const match of evaluation.matches) {
      const { route } = match;
      const own = this.#routes.get(route.name);
      let kept: readonly SluiceRecord[] = match.records;
      if (own && match.records.length > 0) {
        const passed: SluiceRecord[] = [];
        for (const output of match.records) {
          const worst = this.#check(own, output, route.name, violations);
          if (!worst || worst.action === 'warn') passed.push(output);
          else rejected.push({ route, record: output, action: worst.action, violation: worst });
        }
        own.kept += passed.length;
        if (passed.length < match.records.length) kept = passed;
        if (passed.length === 0) {
          changed = true;
          emptied.push(match);
          continue;
        }
      }
      let withheld: Map<string, ReadonlySet<number>> | undefined;
      for (const destination of route.to) {
        const scope = this.#destinations.get(destination);
        if (!scope) continue;
        let out: Set<number> | undefined;
        kept.forEach((output, i) => {
          const worst = this.#check(scope, output, route.name, violations);
          if (!worst || worst.action === 'warn') {
            scope.kept++;
            return;
          }
          rejected.push({
            route,
            destination,
            index: i,
            record: output,
            action: worst.action,
            violation: worst,
          });
          (out ??= new Set()).add(i);
        });
        if (out) (withheld ??= new Map()).set(destination, out);
      }
      if (kept === match.records && !withheld) matches.push(match);
      else {
        changed = true;
        matches.push({ ...match, records: kept, ...(withheld ? { withheld } : {}) });
      }
    }
    return {
      evaluation: changed ? { ...evaluation, matches } : evaluation,
      rejected,
      violations,
      emptied,
    };
  }

  /** Tests one output against a scope's record checks; returns the most severe violation. */
  #check(
    scope: Scope,
    output: SluiceRecord,
    route: string,
    violations: ExpectationViolation[],
  ): ExpectationViolation | undefined {
    let worst: ExpectationViolation | undefined;
    for (const tally of scope.tallies) {
      const violation = this.#test(scope, tally, output, route);
      if (!violation) continue;
      violations.push(violation);
      if (!worst || SEVERITY[violation.action] > SEVERITY[worst.action]) worst = violation;
    }
    return worst;
  }

  #test(
    scope: Scope,
    tally: Tally,
    output: SluiceRecord,
    route: string,
  ): ExpectationViolation | undefined {
    const { expectation } = tally;
    let problem: ExpectationProblem | undefined;
    if (expectation.test) {
      tally.checked++;
      problem = expectation.test(output);
    } else if (expectation.key && tally.seen) {
      tally.checked++;
      const key = expectation.key(output);
      if (key !== undefined) {
        if (tally.seen.has(key))
          problem = {
            value: JSON.parse(key) as JsonValue,
            expected: 'a value not seen before in this run',
          };
        else tally.seen.add(key);
      }
    } else if (expectation.time) {
      const time = expectation.time(output);
      if (time !== undefined && (tally.newest === undefined || time > tally.newest))
        tally.newest = time;
      return undefined;
    } else return undefined;
    if (!problem) return undefined;
    tally.violations++;
    return violationOf(scope, route, expectation, problem.value, problem.expected);
  }

  /**
   * Tests the run checks once (`row-count` against `recordsIn`, `freshness` against `now`) and
   * returns their violations. Later calls return nothing.
   */
  finish(recordsIn: number, now: number): ExpectationViolation[] {
    if (this.#finished) return [];
    this.#finished = true;
    const out: ExpectationViolation[] = [];
    for (const scope of [...this.#routes.values(), ...this.#destinations.values()]) {
      // A route's run check names the route; a destination's names no route.
      const route = scope.destination ? '' : scope.name;
      for (const tally of scope.tallies) {
        const { expectation } = tally;
        if (expectation.check === 'row-count') {
          tally.checked++;
          const { kept } = scope;
          const ratio = recordsIn === 0 ? (kept === 0 ? 1 : Infinity) : kept / recordsIn;
          const { minRatio, maxRatio } = expectation;
          if (
            (minRatio !== undefined && ratio < minRatio) ||
            (maxRatio !== undefined && ratio > maxRatio)
          ) {
            tally.violations++;
            out.push(
              violationOf(
                scope,
                route,
                expectation,
                kept,
                `a row count of ${describeRatio(minRatio, maxRatio)} × the ${recordsIn} record(s) read`,
              ),
            );
          }
        } else if (expectation.check === 'freshness') {
          tally.checked++;
          const newest = tally.newest;
          if (newest === undefined || now - newest > expectation.maxAgeMs!) {
            tally.violations++;
            out.push(
              violationOf(
                scope,
                route,
                expectation,
                newest === undefined ? undefined : new Date(newest).toISOString(),
                `a newest value at most ${expectation.maxAgeMs} ms old (at ${new Date(now).toISOString()})`,
              ),
            );
          }
        }
      }
    }
    return out;
  }

  /** Counts per route and expectation name; `undefined` when no route has expectations. */
  summary(): Record<string, Record<string, ExpectationSummary>> | undefined {
    return summaryOf(this.#routes);
  }

  /**
   * Counts per destination and expectation name; `undefined` when no destination has
   * expectations.
   */
  destinationSummary(): Record<string, Record<string, ExpectationSummary>> | undefined {
    return summaryOf(this.#destinations);
  }
}

function summaryOf(
  scopes: ReadonlyMap<string, Scope>,
): Record<string, Record<string, ExpectationSummary>> | undefined {
  if (scopes.size === 0) return undefined;
  const out: Record<string, Record<string, ExpectationSummary>> = {};
  for (const [name, { tallies }] of scopes) {
    out[name] = {};
    for (const { expectation, checked, violations } of tallies)
      out[name][expectation.name] = {
        check: expectation.check,
        action: expectation.action,
        ...(expectation.field === undefined ? {} : { field: expectation.field }),
        checked,
        violations,
      };
  }
  return out;
}

function describeRatio(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return min === max ? `${min}` : `${min} to ${max}`;
  return min !== undefined ? `at least ${min}` : `at most ${max}`;
}

function violationOf(
  scope: Scope,
  route: string,
  expectation: CompiledExpectation,
  value: JsonValue | undefined,
  expected: string,
): ExpectationViolation {
  const shown = value === undefined ? 'missing' : truncate(JSON.stringify(value));
  const where = expectation.field === undefined ? '' : ` on field "${expectation.field}"`;
  // A destination's record check also says which route sent the record.
  const owner = scope.destination
    ? `destination "${scope.name}" failed${where}${route === '' ? '' : ` for a record of route "${route}"`}`
    : `route "${route}" failed${where}`;
  return {
    route,
    ...(scope.destination ? { destination: scope.name } : {}),
    expectation: expectation.name,
    check: expectation.check,
    action: expectation.action,
    field: expectation.field,
    value,
    message: `expectation "${expectation.name}" (${expectation.check}) of ${owner}: got ${shown}, expected ${expected}`,
  };
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
