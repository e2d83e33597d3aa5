import type { ExpectationSummary } from '../expectations/run.js';

/** Counts of one route in a run. */
export interface RouteSummary {
  /** Records whose condition matched (including the default route's records). */
  matched: number;
  /** Records the route's transforms produced (after unnest/drop). */
  produced: number;
  /** Records a transform dropped (input records that produced nothing). */
  droppedByTransform: number;
  /** Records whose condition or transform failed. */
  failed: number;
}

/** Counts of one destination in a run. */
export interface DestinationSummary {
  delivered: number;
  batches: number;
  retries: number;
  /** Dead letters written for this destination (its own expectations' included). */
  deadLettered: number;
  /**
   * Records given up after retries with `onError: 'drop'`, and records one of the destination's
   * own expectations dropped.
   */
  dropped: number;
  /** Records given up after retries with `onError: 'fail-run'`. */
  failed: number;
}

/**
 * What happened in a run, for run history and the API.
 *
 * @example
 * ```ts
 * const summary = await router.close();
 * console.log(summary.destinations.warehouse.delivered);
 * ```
 */
export interface RouterSummary {
  records: {
    /** Records pushed. */
    in: number;
    /** Records at least one (non-default) route matched. */
    matched: number;
    /** Records the default route took. */
    defaulted: number;
    /** Records nothing took. */
    unmatched: number;
    /** Records completely handled (a contiguous prefix of the input). */
    acknowledged: number;
  };
  routes: Record<string, RouteSummary>;
  destinations: Record<string, DestinationSummary>;
  /** Every drop: by transforms and by `onError: 'drop'` (per destination delivery). */
  dropped: number;
  /** Dead letters written (one per record and destination). */
  deadLettered: number;
  failed: boolean;
  error?: { name: string; message: string };
  /**
   * Per route and expectation name, records tested and violations (present only when some route
   * declares `expect`).
   */
  expectations?: Record<string, Record<string, ExpectationSummary>>;
  /**
   * Per destination and expectation name, records tested (every record the destination
   * received, from any route) and violations (present only when some destination of the table
   * declares `expect`). Apart from `expectations` because a route and a destination may share
   * a name.
   */
  destinationExpectations?: Record<string, Record<string, ExpectationSummary>>;
}
