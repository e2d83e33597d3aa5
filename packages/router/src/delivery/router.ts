/**
 * The router at run time: evaluates each pushed record against the compiled table, hands the
 * outputs to per-destination queues, applies each route's `onError` to records that fail for
 * good, and tracks acknowledgements so the caller knows which source checkpoints are safe.
 *
 * @packageDocumentation
 */
import {
  childLogger,
  isRecord,
  toError,
  type JsonValue,
  type DeliveryPolicy,
  type DeadLetterSink,
  type DestinationCapabilities,
  type DestinationInstance,
  type PluginContext,
  type SluiceRecord,
} from '@sluice/core';
import {
  applyExpectationOutcome,
  countViolations,
  expectationViolationsCounter,
  settlingOf,
  type ExpectationPolicyRun,
} from '../expectations/policy.js';
import { ExpectationError, ExpectationRun } from '../expectations/run.js';
import { evaluateRecord, type RouteTable } from '../route-table.js';
import { AckTracker } from './ack-tracker.js';
import { acknowledgeDelivered, deliveriesOf } from './acknowledgement.js';
import { DeadLetterWriter, invalidRecordLetter, type DeadLetterRun } from './dead-letters.js';
import type { DestinationQueue } from './destination-queue.js';
import {
  applyDeliveryFailures,
  applyRouteFailures,
  countDeadLetters,
  type ErrorPolicyRun,
} from './error-policy.js';
import { RunAbortedError, RunFailedError } from './errors.js';
import { createRouterMetrics } from './metrics.js';
import {
  createQueues,
  enqueueMatches,
  usedDestinations,
  waitForRoom,
  type QueueingRun,
} from './queueing.js';
import { SourcePositions } from './source-position.js';
import { RouterStats } from './stats.js';
import type { RouterSummary } from './summary.js';

export { INVALID_RECORD_DESTINATION, INVALID_RECORD_ROUTE } from './dead-letters.js';

/** A destination as the router sees it: a live instance, what it can do, and how to deliver. */
export interface RouterDestination {
  instance: DestinationInstance;
  capabilities: DestinationCapabilities;
  policy?: DeliveryPolicy;
}

/** Options of {@link createRouter}. */
export interface CreateRouterOptions {
  table: RouteTable;
  /** Every destination the table names, by name. */
  destinations: Record<string, RouterDestination>;
  deadLetters: DeadLetterSink;
  ctx: PluginContext;
  pipeline: string;
  runId: string;
  /** Name of the source the records come from (put on every batch). */
  source: string;
  /**
   * The source positions of the records in push order, when they were read before (a replay of
   * dead letters passes each letter's `position`, `<runId>-<segment>-<offset>`): their record keys
   * and batch ids stay those of the first delivery, so a destination that already has one
   * recognises it. Records beyond the list get positions of their own.
   */
  positions?: readonly (string | undefined)[];
  /**
   * Whether the source yields the same records when it re-reads from a checkpoint (the
   * connector's `rereads`; default `'may-differ'`). With `'may-differ'`, a later attempt of the
   * run (`runAttempt` > 1: a retry or a take-over) gives its records positions of its own, so no
   * destination skips or overwrites what an earlier attempt wrote at the same place.
   */
  rereads?: 'same' | 'may-differ';
  /** Which attempt of the run this router serves (1, the default, for the first). */
  runAttempt?: number;
  /**
   * Per destination, how many records may wait (buffered, queued or in flight) before `push`
   * waits. Default: enough for one full batch per concurrent write plus one being filled.
   */
  maxPendingRecords?: number;
  /** Source of jitter for retry delays (tests pass a fixed one). Default `Math.random`. */
  random?: () => number;
}

/** A position in the pushed input: "the first `position` records". */
export interface Checkpoint {
  readonly position: number;
}

/** A running router. */
export interface Router {
  /**
   * Routes records. Resolves once they are queued and the destinations have room again
   * (back-pressure); rejects with `RunFailedError` / `RunAbortedError` once the run failed or
   * was aborted. Returns the checkpoint just after the last of these records.
   */
  push(records: Iterable<SluiceRecord>): Promise<Checkpoint>;
  /** The checkpoint just after the last record pushed so far. */
  checkpoint(): Checkpoint;
  /**
   * Tells the router where in the source the records pushed next come from: after `state`
   * (the state the run resumed from, before the first push; then the state of each page that
   * carries one, after pushing it). Record keys and batch ids derive from it, so they are the
   * same in an attempt that resumes from that state; a destination with `idempotency: 'batch'`
   * gets no batch across it. `runPipeline` calls it; without calls, all records follow the start.
   */
  atCheckpoint(state: JsonValue | undefined): void;
  /** How many records, from the first, are completely handled. */
  acknowledged(): number;
  /**
   * Resolves when every record before `checkpoint` was delivered, dead-lettered or dropped.
   * Records are flushed by their batch limits; call {@link Router.flush} to not wait for
   * `maxWaitMs`. Rejects when the run fails or is aborted first.
   */
  whenAcknowledged(checkpoint: Checkpoint): Promise<void>;
  /** Sends every buffered record now and resolves when everything pushed is handled. */
  flush(): Promise<void>;
  /** Flushes (unless failed or aborted), closes the destination instances, returns the summary. */
  close(): Promise<RouterSummary>;
  /** Stops at once: no new writes, in-flight writes get an aborted signal, waiters reject. */
  abort(reason?: unknown): void;
  /** Counts so far. */
  summary(): RouterSummary;
  /** The error that failed the run, if any. */
  readonly failure: RunFailedError | RunAbortedError | undefined;
}

/**
 * Creates a router for one run.
 *
 * @example
 * ```ts
 * const router = createRouter({
 *   table, ctx, pipeline: 'daily', runId: 'r1', source: 'ga4',
 *   destinations: { warehouse: { instance, capabilities: { idempotent: true }, policy: { batch: { maxRecords: 500 } } } },
 *   deadLetters: { write: async (letters) => store.saveDeadLetters(letters) },
 * });
 * const checkpoint = await router.push(page.records);
 * await router.flush();
 * await router.whenAcknowledged(checkpoint); // now safe to commit page.state
 * const summary = await router.close();
 * ```
 */
export function createRouter(options: CreateRouterOptions): Router {
  const { table, ctx, pipeline, runId, source } = options;
  const positions = new SourcePositions(
    options.rereads === 'same' ? undefined : options.runAttempt,
  );
  const knownPositions = options.positions ?? [];
  // Under a run's logger, `pipeline` and `runId` are bound already: bind only what is missing.
  const logger = childLogger(ctx.logger, { component: 'router', pipeline, runId });
  const metrics = createRouterMetrics(ctx.metrics);
  const tracker = new AckTracker();
  const controller = new AbortController();
  const signal = AbortSignal.any([ctx.signal, controller.signal]);
  const random = options.random ?? Math.random;
  const allRoutes = [
    ...table.routes,
    ...(table.defaultRoute ? [table.defaultRoute] : []),
    ...(table.transform ? [table.transform] : []),
  ];
  const used = usedDestinations(table, options.destinations, logger);
  const stats = new RouterStats(allRoutes, used);

  let failure: RunFailedError | RunAbortedError | undefined;
  const stop = (error: RunFailedError | RunAbortedError) => {
    failure = error;
    for (const q of queueList) q.stop();
    tracker.fail(error);
    controller.abort(error);
  };
  const fail = (error: RunFailedError) => {
    if (failure) return;
    logger.error(
      {
        err: { name: error.name, message: error.message },
        route: error.route,
        destination: error.destination,
      },
      'run failed',
    );
    stop(error);
  };
  const abort = (reason?: unknown) => {
    if (failure) return;
    logger.warn('run aborted');
    stop(new RunAbortedError(reason));
  };

  const letterRun: DeadLetterRun = { pipeline, runId, source, clock: ctx.clock };
  const accounting = { ...letterRun, stats, metrics, tracker };
  const deadLetters = new DeadLetterWriter({
    sink: options.deadLetters,
    clock: ctx.clock,
    signal,
    random,
    highWater: Math.max(1000, options.maxPendingRecords ?? 0),
    stopped: () => failure !== undefined,
    written: (letters, stage) => {
      countDeadLetters(accounting, letters);
      logger.warn({ records: letters.length, stage }, 'records dead-lettered');
    },
    rejected: (error, count) =>
      fail(
        new RunFailedError(
          `the dead-letter sink rejected ${count} record(s): ${toError(error).message}`,
          { cause: error },
        ),
      ),
  });
  const policy: ErrorPolicyRun = { ...accounting, deadLetters, fail };
  // Expectations (the routes' and the destinations' `expect`): nothing is declared or counted
  // for a table without any.
  const expectations = new ExpectationRun(allRoutes, table.destinationExpectations);
  const expecting: ExpectationPolicyRun | undefined = expectations.active
    ? {
        ...policy,
        violationsCounter: expectationViolationsCounter(ctx.metrics),
        logger,
        logged: new Set(),
      }
    : undefined;

  const queueing: QueueingRun = { pipeline, runId, source, ctx, logger, metrics, signal, random };
  const queues: ReadonlyMap<string, DestinationQueue> = createQueues(
    queueing,
    used,
    options.destinations,
    options.maxPendingRecords,
    {
      delivered: (destination, items) => acknowledgeDelivered(accounting, destination, items),
      failed: (destination, failures) => applyDeliveryFailures(policy, destination, failures),
    },
  );
  const queueList = [...queues.values()];
  const enqueueing = {
    pipeline,
    ctx,
    metrics,
    stats,
    queues,
    measureBytes: queueList.some((q) => q.settings.maxBytes !== undefined),
  };

  const onContextAbort = () => abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onContextAbort, { once: true });
  if (ctx.signal.aborted) queueMicrotask(onContextAbort);

  // Pages pushed so far (each push is one page of the source), to name them in dead letters.
  let pages = 0;
  // The run and segment of the last known position (replays): a batch never spans two of them,
  // so a replayed batch is cut where its records' first batch was.
  let knownSegment: string | undefined;

  function routeOne(record: SluiceRecord, position: string): void {
    let evaluation = evaluateRecord(record, table);
    const checked = expecting ? expectations.apply(evaluation) : undefined;
    if (checked) evaluation = checked.evaluation;
    const seq = tracker.open(
      deliveriesOf(evaluation) + (checked ? settlingOf(checked.rejected) : 0),
    );
    if (evaluation.unmatched) stats.counts.unmatched++;
    else if (evaluation.defaulted) stats.counts.defaulted++;
    else stats.counts.matched++;
    enqueueMatches(enqueueing, record, seq, position, evaluation.matches);
    if (checked && expecting) applyExpectationOutcome(expecting, record, seq, position, checked);
    if (evaluation.failures.length > 0)
      applyRouteFailures(policy, record, seq, position, evaluation.failures);
  }

  // Records are checked where they enter: a value that is not a plain object is never routed or
  // written; it becomes a dead letter naming the connector, the page and its index in the page.
  function refuseRecord(value: unknown, page: number, index: number): void {
    deadLetters.write(
      [{ seq: tracker.open(1), letter: invalidRecordLetter(letterRun, value, page, index) }],
      'source',
    );
  }

  async function push(records: Iterable<SluiceRecord>): Promise<Checkpoint> {
    if (failure) throw failure;
    const page = ++pages;
    let n = 0;
    const matchedBefore = new Map<string, number>();
    for (const [name, s] of stats.routes) matchedBefore.set(name, s.matched);
    const unmatchedBefore = stats.counts.unmatched;
    try {
      for (const record of records) {
        n++;
        // Every input takes a position, refused ones too, so the positions after it do not shift.
        const own = positions.next();
        const known = knownPositions[tracker.pushed];
        if (known !== undefined) {
          const segment = known.slice(0, known.lastIndexOf('-'));
          if (knownSegment !== undefined && segment !== knownSegment)
            for (const q of queueList) q.checkpointReached();
          knownSegment = segment;
        }
        const position = known ?? `${runId}-${own}`;
        if (isRecord(record)) routeOne(record, position);
        else refuseRecord(record, page, n - 1);
        if (failure) throw failure;
        const room = waitForRoom(queueList);
        if (room) await room;
        if (deadLetters.backlogged) await deadLetters.settled();
        if (failure) throw failure;
      }
    } finally {
      stats.counts.in += n;
      metrics.recordsIn.inc({ pipeline }, n);
      for (const [name, s] of stats.routes) {
        const delta = s.matched - matchedBefore.get(name)!;
        if (delta > 0) metrics.routeMatched.inc({ pipeline, route: name }, delta);
      }
      if (stats.counts.unmatched > unmatchedBefore)
        metrics.unmatched.inc({ pipeline }, stats.counts.unmatched - unmatchedBefore);
    }
    return { position: tracker.pushed };
  }

  async function flush(): Promise<void> {
    if (failure) throw failure;
    for (const q of queueList) q.flushBuffer();
    await tracker.until(tracker.pushed);
    if (failure) throw failure;
  }

  const summary = (): RouterSummary => {
    const result = stats.summary(queues, tracker.acknowledged, failure);
    const counts = expectations.summary();
    const byDestination = expectations.destinationSummary();
    return {
      ...result,
      ...(counts ? { expectations: counts } : {}),
      ...(byDestination ? { destinationExpectations: byDestination } : {}),
    };
  };

  // The run checks (`row-count`, `freshness`) once everything was routed: `fail-run` fails the
  // run (what was delivered stays delivered; the run is reported failed), `warn` is counted.
  function finishExpectations(): void {
    if (!expecting || failure) return;
    const violations = expectations.finish(stats.counts.in, ctx.clock.now());
    countViolations(expecting, violations);
    const fatal = violations.find((v) => v.action === 'fail-run');
    if (fatal)
      fail(
        new RunFailedError(fatal.message, {
          cause: new ExpectationError(fatal.message, fatal),
          ...(fatal.route === '' ? {} : { route: fatal.route }),
          ...(fatal.destination === undefined ? {} : { destination: fatal.destination }),
        }),
      );
  }

  let closed: Promise<RouterSummary> | undefined;
  async function close(): Promise<RouterSummary> {
    closed ??= (async () => {
      if (!failure) {
        try {
          await flush();
        } catch {
          // The failure is recorded and shows in the summary.
        }
        finishExpectations();
      }
      ctx.signal.removeEventListener('abort', onContextAbort);
      for (const q of queueList) {
        try {
          await q.close();
        } catch (error) {
          logger.warn(
            { destination: q.name, err: { message: toError(error).message } },
            'closing a destination failed',
          );
        }
      }
      const result = summary();
      if (failure) failure.summary = result;
      if (result.expectations || result.destinationExpectations)
        logger.info(
          {
            ...(result.expectations ? { expectations: result.expectations } : {}),
            ...(result.destinationExpectations
              ? { destinationExpectations: result.destinationExpectations }
              : {}),
          },
          'expectations checked',
        );
      logger.info(
        {
          records: result.records,
          dropped: result.dropped,
          deadLettered: result.deadLettered,
          failed: result.failed,
        },
        'router closed',
      );
      return result;
    })();
    return closed;
  }

  return {
    push,
    checkpoint: () => ({ position: tracker.pushed }),
    atCheckpoint: (state) => {
      if (!positions.after(state)) return;
      for (const q of queueList) q.checkpointReached();
    },
    acknowledged: () => tracker.acknowledged,
    whenAcknowledged: (checkpoint) => tracker.until(checkpoint.position),
    flush,
    close,
    abort,
    summary,
    get failure() {
      return failure;
    },
  };
}
