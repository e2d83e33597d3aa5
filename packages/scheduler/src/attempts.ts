/**
 * How a run's attempts are counted. Two reasons make a run start again, and they are budgeted
 * separately:
 *
 * - a **failure**: the pipeline threw. The pipeline's `retry` policy decides whether it runs
 *   again (up to `retry.maxAttempts` tries, waiting core's `backoffDelay`). The worker enqueues
 *   the next try as a new job that carries the count, and completes the failed one.
 * - a **take-over**: the attempt ended without an outcome — its worker was killed, lost its
 *   database, stopped while the run was still going (after its grace period), or pg-boss expired
 *   the job. pg-boss hands the same job to another worker once the heartbeat lapses. This does not
 *   depend on the retry policy: a run without retries is still taken over. It is bounded by
 *   `maxTakeovers` per run, so a run that kills its worker every time cannot loop forever.
 *
 * @packageDocumentation
 */
import { FatalError } from '@sluice/core';

/**
 * Take-overs a run gets by default before it is failed (the scheduler's `maxTakeovers`): enough
 * for a long run to survive several crashes and rolling restarts, few enough that a run which
 * crashes its worker every time stops after about ten heartbeats.
 *
 * @example
 * ```ts
 * createScheduler({ ...options, maxTakeovers: DEFAULT_MAX_TAKEOVERS });
 * ```
 */
export const DEFAULT_MAX_TAKEOVERS = 10;

/**
 * The largest `maxTakeovers` a scheduler accepts.
 *
 * @example
 * ```ts
 * createScheduler({ ...options, maxTakeovers: MAX_TAKEOVERS_LIMIT });
 * ```
 */
export const MAX_TAKEOVERS_LIMIT = 100;

/**
 * The counts a run's job carries from one try to the next (absent on the first job: zero).
 *
 * @example
 * ```ts
 * const counts: AttemptCounts = { failures: 1, takeovers: 2 };
 * ```
 */
export interface AttemptCounts {
  /** Tries of this run that failed by throwing and were retried. */
  failures?: number;
  /** Take-overs of this run in its earlier jobs (a job's own take-overs are its pg-boss `retryCount`). */
  takeovers?: number;
}

/**
 * Take-overs of a run so far, when a worker claims its job: those of the jobs before it plus
 * this job's re-claims (every re-claim of one job follows an attempt that ended without outcome,
 * since failures continue in a new job).
 *
 * @example
 * ```ts
 * takeoversSoFar({ takeovers: 1 }, 2); // 3
 * ```
 */
export function takeoversSoFar(counts: AttemptCounts, retryCount: number): number {
  return (counts.takeovers ?? 0) + retryCount;
}

/**
 * Ends a run whose workers stopped or died more often than `maxTakeovers` allows.
 *
 * @example
 * ```ts
 * throw new RunTakeoverLimitError(4, 3);
 * ```
 */
export class RunTakeoverLimitError extends FatalError {
  override readonly name: string = 'RunTakeoverLimitError';

  constructor(takeovers: number, maxTakeovers: number) {
    super(
      `the run's worker stopped or died before finishing it ${takeovers} time(s); ` +
        `it is not taken over again (maxTakeovers: ${maxTakeovers}), so a run that crashes its worker cannot loop forever`,
      { details: { takeovers, maxTakeovers } },
    );
  }
}

/**
 * Ends a run whose job pg-boss failed for good (take-overs exhausted before a worker could record
 * the run's outcome, or its expiry), so no run stays `running` without a job behind it.
 *
 * @example
 * ```ts
 * throw new RunAbandonedError('job heartbeat timeout', 4);
 * ```
 */
export class RunAbandonedError extends FatalError {
  override readonly name: string = 'RunAbandonedError';

  constructor(reason: string, attempts: number) {
    super(
      `the job queue gave up on the run after ${attempts} attempt(s) without an outcome (last: ${reason})`,
      { details: { reason, attempts } },
    );
  }
}
