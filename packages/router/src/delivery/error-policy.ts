/**
 * The error policy: what a route's `onError` does with a record that failed for good — in the
 * route (its condition or a transform threw) or at a destination (after every retry):
 * `dead-letter` keeps it for replay, `drop` counts and forgets it, `fail-run` fails the run.
 *
 * @packageDocumentation
 */
import type { ExpectationAction, OnError, SluiceRecord } from '@sluice/core';
import type { CompiledRoute, RouteFailure } from '../route-table.js';
import type { AckTracker } from './ack-tracker.js';
import {
  deadLetterOf,
  type DeadLetterRun,
  type DeadLetterWriter,
  type PendingLetter,
} from './dead-letters.js';
import type { FailedDelivery } from './destination-queue.js';
import { RunFailedError } from './errors.js';
import type { RouterMetrics } from './metrics.js';
import type { RouterStats } from './stats.js';

/** What applying the policy touches. */
export interface ErrorPolicyRun extends DeadLetterRun {
  readonly stats: RouterStats;
  readonly metrics: RouterMetrics;
  readonly tracker: AckTracker;
  readonly deadLetters: DeadLetterWriter;
  /** Fails the run (the first failure wins). */
  fail(error: RunFailedError): void;
}

/**
 * Applies `onError` to deliveries a destination gave up on.
 *
 * @example
 * ```ts
 * const callbacks = { failed: (destination, failures) => applyDeliveryFailures(run, destination, failures) };
 * ```
 */
export function applyDeliveryFailures(
  run: ErrorPolicyRun,
  destination: string,
  failures: readonly FailedDelivery[],
): void {
  const letters: PendingLetter[] = [];
  const stats = run.stats.destination(destination);
  for (const { item, error, attempts } of failures) {
    const route = item.route;
    if (route.onError === 'drop') {
      stats.dropped++;
      run.stats.counts.dropped++;
      run.metrics.dropped.inc({
        pipeline: run.pipeline,
        route: route.name,
        destination,
        reason: 'delivery-failed',
      });
      run.tracker.done(item.seq);
    } else if (route.onError === 'fail-run') {
      stats.failed++;
      run.fail(
        new RunFailedError(
          `delivery to "${destination}" failed for route "${route.name}": ${error.message}`,
          { cause: error, route: route.name, destination },
        ),
      );
    } else {
      letters.push({
        seq: item.seq,
        letter: deadLetterOf(
          run,
          route,
          destination,
          item.record,
          item.original,
          error,
          attempts,
          item.position,
        ),
      });
    }
  }
  if (letters.length > 0) run.deadLetters.write(letters, 'delivery');
}

/**
 * One output a route gave up on before any destination saw it — its condition or a transform
 * threw (`onError`), or an expectation rejected it (the expectation's action) — and what to do.
 */
export interface RouteRejection {
  readonly route: CompiledRoute;
  /**
   * Set when only this destination of the route gives the output up (its own expectations):
   * one dead letter for it, a drop counted for it. Absent: every destination of the route.
   */
  readonly destination?: string;
  /** The record to dead-letter (the route's output; the input record when the route threw). */
  readonly record: SluiceRecord;
  /** A route's `onError`, or an expectation's action (`warn` never rejects an output). */
  readonly action: OnError | ExpectationAction;
  readonly error: Error;
}

/**
 * Dead-letters (one letter per destination of the route, or for the rejection's `destination`
 * alone), drops (counted with `reason`) or fails the run for each rejection of `record` (sequence number `seq`); the letters go to the
 * sink as `stage`.
 *
 * @example
 * ```ts
 * applyRouteRejections(run, record, seq, position, [{ route, record, action: 'drop', error }], {
 *   reason: 'route-error',
 *   stage: 'route',
 * });
 * ```
 */
export function applyRouteRejections(
  run: ErrorPolicyRun,
  record: SluiceRecord,
  seq: number,
  position: string,
  rejections: readonly RouteRejection[],
  labels: { readonly reason: string; readonly stage: string },
): void {
  const letters: PendingLetter[] = [];
  for (const { route, destination: only, record: output, action, error } of rejections) {
    if (action === 'drop') {
      run.stats.counts.dropped++;
      if (only !== undefined) run.stats.destination(only).dropped++;
      run.metrics.dropped.inc({
        pipeline: run.pipeline,
        route: route.name,
        destination: only ?? '',
        reason: labels.reason,
      });
    } else if (action === 'fail-run') {
      run.fail(
        new RunFailedError(error.message, {
          cause: error,
          route: route.name,
          ...(only === undefined ? {} : { destination: only }),
        }),
      );
    } else {
      for (const destination of only === undefined ? route.to : [only])
        letters.push({
          seq,
          letter: deadLetterOf(run, route, destination, output, record, error, 1, position),
        });
    }
  }
  if (letters.length > 0) run.deadLetters.write(letters, labels.stage);
}

/**
 * Applies `onError` to the routes whose condition or transform failed for `record`
 * (sequence number `seq`): a dead letter per destination of the route, a drop, or a failed run.
 *
 * @example
 * ```ts
 * applyRouteFailures(run, record, seq, position, evaluation.failures);
 * ```
 */
export function applyRouteFailures(
  run: ErrorPolicyRun,
  record: SluiceRecord,
  seq: number,
  position: string,
  failures: readonly RouteFailure[],
): void {
  for (const { route } of failures) run.stats.route(route.name).failed++;
  applyRouteRejections(
    run,
    record,
    seq,
    position,
    failures.map(({ route, error }) => ({ route, record, action: route.onError, error })),
    { reason: 'route-error', stage: 'route' },
  );
}

/**
 * Counts dead letters the sink took and settles their records.
 *
 * @example
 * ```ts
 * new DeadLetterWriter({ ..., written: (letters, stage) => countDeadLetters(run, letters, stage, logger) });
 * ```
 */
export function countDeadLetters(
  run: Omit<ErrorPolicyRun, 'deadLetters' | 'fail'>,
  letters: readonly PendingLetter[],
): void {
  for (const { seq, letter } of letters) {
    run.stats.counts.deadLettered++;
    // A record refused at entry has no destination (INVALID_RECORD_DESTINATION).
    const stats = run.stats.destinations.get(letter.destination);
    if (stats) stats.deadLettered++;
    run.metrics.deadLettered.inc({
      pipeline: run.pipeline,
      route: letter.route,
      destination: letter.destination,
    });
    run.tracker.done(seq);
  }
}
