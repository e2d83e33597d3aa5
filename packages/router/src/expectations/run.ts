/**
 * Expectations at run time: tests each route's outputs against its record checks, keeps the
 * run's state for `unique`, `row-count` and `freshness`, counts violations per check, and
 * decides per output what happens (the most severe action of the checks it violates:
 * `fail-run` > `dead-letter` > `drop` > `warn`). Used by the router and by dry runs alike, so a
 * dry run shows exactly what a run would do.
 *
 * @packageDocumentation
 */
import type { ExpectationAction, ExpectationCheck, JsonValue, SluiceRecord } from '@sluice/core';
import type { CompiledRoute, RecordEvaluation, RouteMatch } from '../route-table.js';
import type { CompiledExpectation, ExpectationProblem } from './compile.js';

/** A violated expectation, with the message a dead letter or a failed run carries. */
export interface ExpectationViolation {
  readonly route: string;
  readonly expectation: string;
  readonly check: ExpectationCheck;
  readonly action: ExpectationAction;
  readonly field: string | undefined;
  readonly value: JsonValue | undefined;
  readonly message: string;
}

/** An output of a route that its expectations took out of delivery. */
export interface RejectedOutput {
  readonly route: CompiledRoute;
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

/** Whether any route of a table declares expectations. */
export function hasExpectations(routes: readonly CompiledRoute[]): boolean {
  return routes.some((r) => (r.expectations?.length ?? 0) > 0);
}

/**
 * The expectations of one run over a table's routes.
 *
 * @example
 * ```ts
 * const run = new ExpectationRun(allRoutes);
 * const { evaluation: kept, rejected, violations } = run.apply(evaluateRecord(record, table));
 * const atEnd = run.finish(recordsIn, Date.now());
 * ```
 */
export class ExpectationRun {
  readonly #tallies = new Map<string, Tally[]>();
  /** Outputs of each route that passed its record checks (for `row-count`). */
  readonly #kept = new Map<string, number>();
  #finished = false;

  constructor(routes: readonly CompiledRoute[]) {
    for (const route of routes) {
      const list = route.expectations ?? [];
      if (list.length === 0) continue;
      this.#tallies.set(
        route.name,
        list.map((expectation) => ({
          expectation,
          checked: 0,
          violations: 0,
          ...(expectation.check === 'unique' ? { seen: new Set<string>() } : {}),
        })),
      );
      this.#kept.set(route.name, 0);
    }
  }

  /** True when some route has expectations. */
  get active(): boolean {
    return this.#tallies.size > 0;
  }

  /**
   * Tests the outputs of every matching route with expectations. Returns the evaluation with
   * rejected outputs removed (a match whose outputs were all rejected is left out, and listed
   * in `emptied`), the rejected outputs, and every violation (warnings included).
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
      const tallies = this.#tallies.get(match.route.name);
      if (!tallies || match.records.length === 0) {
        matches.push(match);
        continue;
      }
      const kept: SluiceRecord[] = [];
      for (const output of match.records) {
        let worst: ExpectationViolation | undefined;
        for (const tally of tallies) {
          const violation = this.#test(match.route, tally, output);
          if (!violation) continue;
          violations.push(violation);
          if (!worst || SEVERITY[violation.action] > SEVERITY[worst.action]) worst = violation;
        }
        if (!worst || worst.action === 'warn') kept.push(output);
        else
          rejected.push({
            route: match.route,
            record: output,
            action: worst.action,
            violation: worst,
          });
      }
      this.#kept.set(match.route.name, this.#kept.get(match.route.name)! + kept.length);
      if (kept.length === match.records.length) matches.push(match);
      else {
        changed = true;
        if (kept.length > 0) matches.push({ ...match, records: kept });
        else emptied.push(match);
      }
    }
    return {
      evaluation: changed ? { ...evaluation, matches } : evaluation,
      rejected,
      violations,
      emptied,
    };
  }

  #test(
    route: CompiledRoute,
    tally: Tally,
    output: SluiceRecord,
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
    return violationOf(route.name, expectation, problem.value, problem.expected);
  }

  /**
   * Tests the run checks once (`row-count` against `recordsIn`, `freshness` against `now`) and
   * returns their violations. Later calls return nothing.
   */
  finish(recordsIn: number, now: number): ExpectationViolation[] {
    if (this.#finished) return [];
    this.#finished = true;
    const out: ExpectationViolation[] = [];
    for (const [route, tallies] of this.#tallies) {
      for (const tally of tallies) {
        const { expectation } = tally;
        if (expectation.check === 'row-count') {
          tally.checked++;
          const kept = this.#kept.get(route)!;
          const ratio = recordsIn === 0 ? (kept === 0 ? 1 : Infinity) : kept / recordsIn;
          const { minRatio, maxRatio } = expectation;
          if (
            (minRatio !== undefined && ratio < minRatio) ||
            (maxRatio !== undefined && ratio > maxRatio)
          ) {
            tally.violations++;
            out.push(
              violationOf(
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
    if (!this.active) return undefined;
    const out: Record<string, Record<string, ExpectationSummary>> = {};
    for (const [route, tallies] of this.#tallies) {
      out[route] = {};
      for (const { expectation, checked, violations } of tallies)
        out[route][expectation.name] = {
          check: expectation.check,
          action: expectation.action,
          ...(expectation.field === undefined ? {} : { field: expectation.field }),
          checked,
          violations,
        };
    }
    return out;
  }
}

function describeRatio(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return min === max ? `${min}` : `${min} to ${max}`;
  return min !== undefined ? `at least ${min}` : `at most ${max}`;
}

function violationOf(
  route: string,
  expectation: CompiledExpectation,
  value: JsonValue | undefined,
  expected: string,
): ExpectationViolation {
  const shown = value === undefined ? 'missing' : truncate(JSON.stringify(value));
  const where = expectation.field === undefined ? '' : ` on field "${expectation.field}"`;
  return {
    route,
    expectation: expectation.name,
    check: expectation.check,
    action: expectation.action,
    field: expectation.field,
    value,
    message: `expectation "${expectation.name}" (${expectation.check}) of route "${route}" failed${where}: got ${shown}, expected ${expected}`,
  };
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
