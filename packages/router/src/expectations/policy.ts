/**
 * What the router does with the outcome of expectations for one record: dead letters (a
 * route's: one per destination of the route; a destination's: one for that destination; the
 * reason naming the check, field, value and expectation), drops, warnings and failed runs —
 * counted per check in `sluice_router_expectation_violations_total` and in the run summary.
 *
 * @packageDocumentation
 */
import type { Counter, Logger, Metrics, SluiceRecord } from '@sluice/core';
import { applyRouteRejections, type ErrorPolicyRun } from '../delivery/error-policy.js';
import type { RouteMatch } from '../route-table.js';
import { ExpectationError, type ExpectationViolation, type RejectedOutput } from './run.js';

/**
 * The metric of expectation violations (declared through core's `Metrics`, as the router's others).
 *
 * @example
 * ```ts
 * const violations = expectationViolationsCounter(ctx.metrics);
 * ```
 */
export function expectationViolationsCounter(metrics: Metrics): Counter {
  return metrics.counter({
    name: 'sluice_router_expectation_violations_total',
    help: 'Records (or runs, for run checks) that violated an expectation, per check',
    // `destination` is "" for a route's expectations; for a destination's, `route` is the route
    // that sent the record ("" for its run checks).
    labelNames: ['pipeline', 'route', 'expectation', 'check', 'action', 'destination'],
  });
}

/**
 * How many deliveries the rejected outputs of one record settle (see `deliveriesOf`): a route's
 * rejection one per destination of the route, a destination's one; a drop none.
 */
export function settlingOf(rejected: readonly RejectedOutput[]): number {
  let n = 0;
  for (const r of rejected)
    if (r.action !== 'drop') n += r.destination === undefined ? r.route.to.length : 1;
  return n;
}

/** What applying expectation outcomes touches besides the error policy. */
export interface ExpectationPolicyRun extends ErrorPolicyRun {
  readonly violationsCounter: Counter;
  readonly logger: Logger;
  /** Expectations already logged in this run (each is logged on its first violation only). */
  readonly logged: Set<string>;
}

/**
 * Counts `violations`, then dead-letters, drops or fails the run for each rejected output of
 * `record` (sequence number `seq`). `emptied` are matches whose outputs were all rejected.
 *
 * @example
 * ```ts
 * applyExpectationOutcome(run, record, seq, position, checked);
 * ```
 */
export function applyExpectationOutcome(
  run: ExpectationPolicyRun,
  record: SluiceRecord,
  seq: number,
  position: string,
  outcome: {
    readonly rejected: readonly RejectedOutput[];
    readonly violations: readonly ExpectationViolation[];
    readonly emptied: readonly RouteMatch[];
  },
): void {
  countViolations(run, outcome.violations);
  for (const match of outcome.emptied) run.stats.route(match.route.name).matched++;
  // A route's rejections left its match (the queueing did not count them as produced); a
  // destination's stayed in it, withheld from that destination only.
  for (const { route, destination } of outcome.rejected)
    if (destination === undefined) run.stats.route(route.name).produced++;
  applyRouteRejections(
    run,
    record,
    seq,
    position,
    outcome.rejected.map(({ route, destination, record: output, action, violation }) => ({
      route,
      ...(destination === undefined ? {} : { destination }),
      record: output,
      action,
      error: new ExpectationError(violation.message, violation),
    })),
    { reason: 'expectation', stage: 'expectation' },
  );
}

/** Counts violations in the metric and logs the first of each expectation in the run. */
export function countViolations(
  run: Pick<ExpectationPolicyRun, 'pipeline' | 'violationsCounter' | 'logger' | 'logged'>,
  violations: readonly ExpectationViolation[],
): void {
  for (const v of violations) {
    run.violationsCounter.inc({
      pipeline: run.pipeline,
      route: v.route,
      expectation: v.expectation,
      check: v.check,
      action: v.action,
      destination: v.destination ?? '',
    });
    // Logged once per expectation: a destination's once, whatever route sent the record.
    const key =
      v.destination === undefined
        ? `route\u0000${v.route}\u0000${v.expectation}`
        : `destination\u0000${v.destination}\u0000${v.expectation}`;
    if (run.logged.has(key)) continue;
    run.logged.add(key);
    run.logger.warn(
      {
        route: v.route,
        ...(v.destination === undefined ? {} : { destination: v.destination }),
        expectation: v.expectation,
        check: v.check,
        action: v.action,
        field: v.field,
      },
      `${v.message} (first violation of this expectation in the run; the run summary counts all)`,
    );
  }
}
