/**
 * The router at run time: evaluates each pushed record against the compiled table, hands the
 * outputs to per-destination queues, applies each route's `onError` to records that fail for
 * good, and tracks acknowledgements so the caller knows which source checkpoints are safe.
 *
 * @packageDocumentation
 */
import {
  ErrorCodes,
  FatalError,
  childLogger,
  isRecord,
  toError,
  type JsonValue,
  type DeadLetter,
  type DeadLetterSink,
  type DeliveryPolicy,
  type DestinationCapabilities,
  type DestinationInstance,
  type PluginContext,
  type SluiceRecord,
} from '@sluice/core';
import { evaluateRecord, type CompiledRoute, type RouteTable } from '../route-table.js';
import { AckTracker } from './ack-tracker.js';
import { DestinationQueue, resolveQueueSettings, type DeliveryItem, type FailedDelivery } from './destination-queue.js';
import { RunAbortedError, RunFailedError } from './errors.js';
import { createRouterMetrics } from './metrics.js';
import type { DestinationSummary, RouteSummary, RouterSummary } from './summary.js';

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
   * Which attempt of the run this router serves (1, the default, for the first). A later
   * attempt (a retry, or a take-over after a crash) resumes from the last checkpoint, so its
   * batches hold other records than the earlier attempt's batches at the same positions: their
   * ids carry the attempt (`daily-r1-a2-warehouse-000001`), so a destination that keys its
   * output by batch id (files, S3 objects) never overwrites an earlier attempt's batch.
   */
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

const DEAD_LETTER_ATTEMPTS = 3;

/** `route` of the dead letter of a value that is not a record (it reached no route). */
export const INVALID_RECORD_ROUTE = '(source)';
/** `destination` of the dead letter of a value that is not a record (it reached none). */
export const INVALID_RECORD_DESTINATION = '(none)';

function describeNonRecord(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return `an instance of ${typeof name === 'string' && name !== '' ? name : 'a class'}`;
  }
  if (typeof value === 'string') return `a string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`;
}

function toJsonSafe(value: unknown): JsonValue {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? null : (JSON.parse(text) as JsonValue);
  } catch {
    return String(value);
  }
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
  const runAttempt = options.runAttempt !== undefined && Number.isInteger(options.runAttempt) && options.runAttempt > 1 ? options.runAttempt : 1;
  // Under a run's logger, `pipeline` and `runId` are bound already: bind only what is missing.
  const logger = childLogger(ctx.logger, { component: 'router', pipeline, runId });
  const metrics = createRouterMetrics(ctx.metrics);
  const tracker = new AckTracker();
  const controller = new AbortController();
  const signal = AbortSignal.any([ctx.signal, controller.signal]);
  const random = options.random ?? Math.random;

  let failure: RunFailedError | RunAbortedError | undefined;
  // Pages pushed so far (each push is one page of the source), to name them in dead letters.
  let pages = 0;
  const counts = { in: 0, matched: 0, defaulted: 0, unmatched: 0, dropped: 0, deadLettered: 0 };
  const routeStats = new Map<string, RouteSummary>();
  const destinationStats = new Map<string, { deadLettered: number; dropped: number; failed: number }>();
  const allRoutes = [...table.routes, ...(table.defaultRoute ? [table.defaultRoute] : [])];
  for (const route of allRoutes) routeStats.set(route.name, { matched: 0, produced: 0, droppedByTransform: 0, failed: 0 });

  const missing = table.destinations.filter((name) => !Object.hasOwn(options.destinations, name));
  const used = new Set(allRoutes.flatMap((r) => r.to));
  const unusable = [...used].filter((name) => !Object.hasOwn(options.destinations, name));
  if (unusable.length > 0) {
    throw new TypeError(`createRouter: no instance for destination(s) ${unusable.join(', ')} named by the route table`);
  }
  if (missing.length > 0) logger.debug({ missing }, 'destinations without routes are not used');

  const queues = new Map<string, DestinationQueue>();
  for (const name of used) {
    const d = options.destinations[name]!;
    destinationStats.set(name, { deadLettered: 0, dropped: 0, failed: 0 });
    queues.set(
      name,
      new DestinationQueue({
        name,
        instance: d.instance,
        settings: resolveQueueSettings(d.policy, d.capabilities, options.maxPendingRecords),
        ctx,
        logger,
        metrics,
        batchContext: { pipeline, runId, source, runAttempt },
        signal,
        random,
        callbacks: { delivered, failed: deliveryFailed },
      }),
    );
  }
  const queueList = [...queues.values()];
  const measureBytes = queueList.some((q) => q.settings.maxBytes !== undefined);

  // Dead letters are written one call at a time, in order; `deadLetterPending` counts records
  // waiting for the sink so push() can apply back-pressure to them too.
  let deadLetterChain: Promise<void> = Promise.resolve();
  let deadLetterPending = 0;
  const deadLetterHighWater = Math.max(1000, options.maxPendingRecords ?? 0);

  const onContextAbort = () => abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onContextAbort, { once: true });
  if (ctx.signal.aborted) queueMicrotask(onContextAbort);

  function fail(error: RunFailedError): void {
    if (failure) return;
    failure = error;
    logger.error({ err: { name: error.name, message: error.message }, route: error.route, destination: error.destination }, 'run failed');
    stopEverything(error);
  }

  function abort(reason?: unknown): void {
    if (failure) return;
    failure = new RunAbortedError(reason);
    logger.warn('run aborted');
    stopEverything(failure);
  }

  function stopEverything(error: Error): void {
    for (const q of queueList) q.stop();
    tracker.fail(error);
    controller.abort(error);
  }

  function delivered(destination: string, items: readonly DeliveryItem[]): void {
    const perRoute = new Map<string, number>();
    for (const item of items) {
      perRoute.set(item.route.name, (perRoute.get(item.route.name) ?? 0) + 1);
      tracker.done(item.seq);
    }
    for (const [route, n] of perRoute) metrics.delivered.inc({ pipeline, route, destination }, n);
  }

  function deliveryFailed(destination: string, failures: readonly FailedDelivery[]): void {
    const letters: { seq: number; letter: DeadLetter }[] = [];
    for (const { item, error, attempts } of failures) {
      const route = item.route;
      const stats = destinationStats.get(destination)!;
      if (route.onError === 'drop') {
        stats.dropped++;
        counts.dropped++;
        metrics.dropped.inc({ pipeline, route: route.name, destination, reason: 'delivery-failed' });
        tracker.done(item.seq);
      } else if (route.onError === 'fail-run') {
        stats.failed++;
        fail(new RunFailedError(`delivery to "${destination}" failed for route "${route.name}": ${error.message}`, { cause: error, route: route.name, destination }));
      } else {
        letters.push({ seq: item.seq, letter: deadLetter(route, destination, item.record, item.original, error, attempts) });
      }
    }
    if (letters.length > 0) writeDeadLetters(letters, 'delivery');
  }

  function deadLetter(route: CompiledRoute, destination: string, record: SluiceRecord, original: SluiceRecord, error: Error, attempts: number): DeadLetter {
    const code = (error as { code?: unknown }).code;
    return {
      pipeline,
      runId,
      route: route.name,
      destination,
      record,
      original,
      error: { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) },
      attempts,
      failedAt: new Date(ctx.clock.now()).toISOString(),
    };
  }

  function writeDeadLetters(letters: { seq: number; letter: DeadLetter }[], stage: string): void {
    deadLetterPending += letters.length;
    deadLetterChain = deadLetterChain.then(async () => {
      if (failure) return;
      let lastError: unknown;
      for (let attempt = 1; attempt <= DEAD_LETTER_ATTEMPTS; attempt++) {
        try {
          await options.deadLetters.write(letters.map((l) => l.letter));
          lastError = undefined;
          break;
        } catch (error) {
          lastError = error;
          if (attempt < DEAD_LETTER_ATTEMPTS) {
            try {
              await ctx.clock.sleep(100 * 2 ** attempt, signal);
            } catch {
              return;
            }
          }
        }
      }
      deadLetterPending -= letters.length;
      if (lastError !== undefined) {
        fail(new RunFailedError(`the dead-letter sink rejected ${letters.length} record(s): ${toError(lastError).message}`, { cause: lastError }));
        return;
      }
      for (const { seq, letter } of letters) {
        counts.deadLettered++;
        // A record refused at entry has no destination (INVALID_RECORD_DESTINATION).
        const stats = destinationStats.get(letter.destination);
        if (stats) stats.deadLettered++;
        metrics.deadLettered.inc({ pipeline, route: letter.route, destination: letter.destination });
        tracker.done(seq);
      }
      logger.warn({ records: letters.length, stage }, 'records dead-lettered');
    });
  }

  // Records are checked where they enter: a value that is not a plain object (a string, a
  // number, null, an array, a Date or other class instance) is never routed or written, it
  // becomes a dead letter naming the connector, the page and its index in the page.
  function refuseRecord(value: unknown, page: number, index: number): void {
    const seq = tracker.open(1);
    const what = describeNonRecord(value);
    const error = new FatalError(
      `connector "${source}" page ${page}, record #${index}: not a plain JSON object (${what}); a connector must yield records as plain objects`,
      { details: { connector: source, page, index } },
    );
    const code = ErrorCodes.invalidRecord;
    const record: SluiceRecord = { invalidRecord: toJsonSafe(value), type: what };
    writeDeadLetters(
      [
        {
          seq,
          letter: {
            pipeline,
            runId,
            route: INVALID_RECORD_ROUTE,
            destination: INVALID_RECORD_DESTINATION,
            record,
            original: record,
            error: { name: error.name, message: error.message, code },
            attempts: 0,
            failedAt: new Date(ctx.clock.now()).toISOString(),
          },
        },
      ],
      'source',
    );
  }

  function routeOne(record: SluiceRecord): void {
    const evaluation = evaluateRecord(record, table);
    let deliveries = 0;
    for (const match of evaluation.matches) deliveries += match.records.length * match.route.to.length;
    for (const f of evaluation.failures) if (f.route.onError === 'dead-letter' || f.route.onError === 'fail-run') deliveries += f.route.to.length;
    const seq = tracker.open(deliveries);
    if (evaluation.unmatched) counts.unmatched++;
    else if (evaluation.defaulted) counts.defaulted++;
    else counts.matched++;
    const now = ctx.clock.now();
    let sizes: Map<SluiceRecord, number> | undefined;
    for (const match of evaluation.matches) {
      const route = match.route;
      const stats = routeStats.get(route.name)!;
      stats.matched++;
      stats.produced += match.records.length;
      if (match.records.length === 0) {
        stats.droppedByTransform++;
        counts.dropped++;
        metrics.dropped.inc({ pipeline, route: route.name, destination: '', reason: 'transform' });
        continue;
      }
      for (const destination of route.to) {
        const queue = queues.get(destination)!;
        for (const output of match.records) {
          let bytes = 0;
          if (measureBytes) {
            sizes ??= new Map();
            bytes = sizes.get(output) ?? Buffer.byteLength(JSON.stringify(output));
            sizes.set(output, bytes);
          }
          queue.add({ seq, route, record: output, original: record, bytes, enqueuedAt: now });
        }
      }
    }
    if (evaluation.failures.length > 0) {
      const letters: { seq: number; letter: DeadLetter }[] = [];
      for (const { route, error } of evaluation.failures) {
        routeStats.get(route.name)!.failed++;
        if (route.onError === 'drop') {
          counts.dropped++;
          metrics.dropped.inc({ pipeline, route: route.name, destination: '', reason: 'route-error' });
        } else if (route.onError === 'fail-run') {
          fail(new RunFailedError(error.message, { cause: error, route: route.name }));
        } else {
          for (const destination of route.to) letters.push({ seq, letter: deadLetter(route, destination, record, record, error, 1) });
        }
      }
      if (letters.length > 0) writeDeadLetters(letters, 'route');
    }
  }

  async function push(records: Iterable<SluiceRecord>): Promise<Checkpoint> {
    if (failure) throw failure;
    const page = ++pages;
    let n = 0;
    const matchedBefore = new Map<string, number>();
    for (const [name, s] of routeStats) matchedBefore.set(name, s.matched);
    const unmatchedBefore = counts.unmatched;
    try {
      for (const record of records) {
        n++;
        if (isRecord(record)) routeOne(record);
        else refuseRecord(record, page, n - 1);
        if (failure) throw failure;
        for (const q of queueList) {
          const wait = q.belowHighWater();
          if (wait) await wait;
        }
        if (deadLetterPending >= deadLetterHighWater) await deadLetterChain;
        if (failure) throw failure;
      }
    } finally {
      counts.in += n;
      metrics.recordsIn.inc({ pipeline }, n);
      for (const [name, s] of routeStats) {
        const delta = s.matched - matchedBefore.get(name)!;
        if (delta > 0) metrics.routeMatched.inc({ pipeline, route: name }, delta);
      }
      if (counts.unmatched > unmatchedBefore) metrics.unmatched.inc({ pipeline }, counts.unmatched - unmatchedBefore);
    }
    return { position: tracker.pushed };
  }

  async function flush(): Promise<void> {
    if (failure) throw failure;
    for (const q of queueList) q.flushBuffer();
    await tracker.until(tracker.pushed);
    if (failure) throw failure;
  }

  function summary(): RouterSummary {
    const destinations: Record<string, DestinationSummary> = {};
    for (const [name, q] of queues) {
      const s = destinationStats.get(name)!;
      destinations[name] = { ...q.stats, deadLettered: s.deadLettered, dropped: s.dropped, failed: s.failed };
    }
    return {
      records: { in: counts.in, matched: counts.matched, defaulted: counts.defaulted, unmatched: counts.unmatched, acknowledged: tracker.acknowledged },
      routes: Object.fromEntries([...routeStats].map(([name, s]) => [name, { ...s }])),
      destinations,
      dropped: counts.dropped,
      deadLettered: counts.deadLettered,
      failed: failure !== undefined,
      ...(failure ? { error: { name: failure.name, message: failure.message } } : {}),
    };
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
      }
      ctx.signal.removeEventListener('abort', onContextAbort);
      for (const q of queueList) {
        try {
          await q.close();
        } catch (error) {
          logger.warn({ destination: q.name, err: { message: toError(error).message } }, 'closing a destination failed');
        }
      }
      const result = summary();
      if (failure) failure.summary = result;
      logger.info({ records: result.records, dropped: result.dropped, deadLettered: result.deadLettered, failed: result.failed }, 'router closed');
      return result;
    })();
    return closed;
  }

  return {
    push,
    checkpoint: () => ({ position: tracker.pushed }),
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
