/**
 * Dry runs: what the route table would do with some records, without writing anything.
 *
 * @packageDocumentation
 */
import type { OnError, SluiceRecord } from '@sluice/core';
import {
  ExpectationRun,
  type ExpectationSummary,
  type ExpectationViolation,
} from './expectations/run.js';
import { evaluateRecord, type RouteTable } from './route-table.js';

/** What one record would do in a dry run. */
export interface DryRunRecord {
  /** Position of the record in the input. */
  index: number;
  /** Routes that matched, in evaluation order, with their output records and destinations. */
  routes: { route: string; to: string[]; output: SluiceRecord[] }[];
  /** Routes whose condition or transform failed, and what would happen to the record. */
  errors: { route: string; message: string; onError: OnError }[];
  /** True when the default route took the record. */
  defaulted: boolean;
  /** True when nothing took the record. */
  unmatched: boolean;
  /**
   * Expectations the record's outputs violated, a route's or a destination's (a destination's
   * carries `destination`); present when some route or destination has `expect`.
   */
  expectations?: ExpectationViolation[];
  /**
   * Outputs a destination's expectations withheld from that destination (they still go to the
   * route's other destinations): the route, the destination, the index in the route's `output`,
   * and the action that applies. Present when some destination has `expect`.
   */
  withheld?: { route: string; destination: string; output: number; action: string }[];
}

/** The result of {@link dryRun}. */
export interface DryRunResult {
  records: DryRunRecord[];
  /** Per destination, the records it would receive, in order. */
  destinations: Record<string, SluiceRecord[]>;
  /** Counts over all records. */
  totals: {
    records: number;
    matched: number;
    defaulted: number;
    unmatched: number;
    errors: number;
  };
  /**
   * Present when some route or destination has `expect`: per route (`counts`) and per
   * destination (`destinations`) and expectation, records tested and violations (run checks
   * included, `freshness` measured against `now`), and the run checks' violations. Outputs a
   * route's `dead-letter`, `drop` or `fail-run` expectation rejects are left out of
   * `destinations` and `routes[].output`; outputs a destination's rejects are left out of what
   * that destination would receive; as a run would.
   */
  expectations?: {
    counts: Record<string, Record<string, ExpectationSummary>>;
    destinations?: Record<string, Record<string, ExpectationSummary>>;
    run: ExpectationViolation[];
  };
}

/**
 * Evaluates records against a compiled table and reports, per record, which routes matched and
 * what each destination would receive. Writes nothing and needs no destination instances.
 *
 * @example
 * ```ts
 * const result = dryRun([{ channel: 'paid' }, { channel: 'organic' }], table);
 * result.destinations.warehouse; // [{ channel: 'paid' }]
 * ```
 */
export function dryRun(
  records: Iterable<SluiceRecord>,
  table: RouteTable,
  now: number = Date.now(),
): DryRunResult {
  const expectations = new ExpectationRun(
    [...table.routes, ...(table.defaultRoute ? [table.defaultRoute] : [])],
    table.destinationExpectations,
  );
  const destinationChecks = (table.destinationExpectations?.size ?? 0) > 0;
  const destinations: Record<string, SluiceRecord[]> = {};
  for (const name of table.destinations) destinations[name] = [];
  const out: DryRunRecord[] = [];
  const totals = { records: 0, matched: 0, defaulted: 0, unmatched: 0, errors: 0 };
  let index = 0;
  for (const record of records) {
    let evaluation = evaluateRecord(record, table);
    const checked = expectations.active ? expectations.apply(evaluation) : undefined;
    if (checked) evaluation = checked.evaluation;
    totals.records++;
    const matchedRoutes = evaluation.matches.length + (checked?.emptied.length ?? 0);
    if (matchedRoutes > 0 && !evaluation.defaulted) totals.matched++;
    if (evaluation.defaulted) totals.defaulted++;
    if (evaluation.unmatched) totals.unmatched++;
    if (evaluation.failures.length > 0) totals.errors++;
    const withheld: NonNullable<DryRunRecord['withheld']> = [];
    for (const match of evaluation.matches) {
      for (const name of match.route.to) {
        const out = match.withheld?.get(name);
        if (!out) destinations[name]!.push(...match.records);
        else destinations[name]!.push(...match.records.filter((_, i) => !out.has(i)));
      }
    }
    for (const r of checked?.rejected ?? [])
      if (r.destination !== undefined)
        withheld.push({
          route: r.route.name,
          destination: r.destination,
          output: r.index!,
          action: r.action,
        });
    out.push({
      index: index++,
      routes: evaluation.matches.map((m) => ({
        route: m.route.name,
        to: [...m.route.to],
        output: [...m.records],
      })),
      errors: evaluation.failures.map((f) => ({
        route: f.route.name,
        message: f.error.message,
        onError: f.route.onError,
      })),
      defaulted: evaluation.defaulted,
      unmatched: evaluation.unmatched,
      ...(checked ? { expectations: checked.violations } : {}),
      ...(checked && destinationChecks ? { withheld } : {}),
    });
  }
  if (!expectations.active) return { records: out, destinations, totals };
  const run = expectations.finish(totals.records, now);
  return {
    records: out,
    destinations,
    totals,
    expectations: {
      counts: expectations.summary() ?? {},
      ...(destinationChecks ? { destinations: expectations.destinationSummary()! } : {}),
      run,
    },
  };
}
