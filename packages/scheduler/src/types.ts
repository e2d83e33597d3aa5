/**
 * Shapes the scheduler shares with its host (the server, or an embedding application).
 *
 * @packageDocumentation
 */
import type {
  JsonObject,
  Logger,
  RunBreakdown,
  RunCounts,
  RunRecord,
  RunStore,
  RunTrigger,
  ScheduleStateStore,
  WebhookDeliveryStore,
  WebhookInboxStore,
} from '@sluice/core';

/**
 * What one pipeline execution reports back. The counts and the breakdown end up on the run record.
 *
 * @example
 * ```ts
 * const summary: RunSummary = {
 *   counts: { read: 120, delivered: 120 },
 *   breakdown: {
 *     routes: { all: { matched: 120, produced: 120, droppedByTransform: 0, failed: 0 } },
 *     destinations: { warehouse: { delivered: 120, failed: 0, deadLettered: 0, dropped: 0, batches: 1, retries: 0 } },
 *   },
 * };
 * ```
 */
export interface RunSummary {
  counts?: Partial<RunCounts>;
  /** Counts by route, destination and expectation (names and numbers only). */
  breakdown?: RunBreakdown;
}

/**
 * Attaches the counts (and, when given, the breakdown) of a failed run to the error that failed
 * it, so the run record shows what was read and delivered before the failure (a connector that
 * throws after one page reports that page). Returns the error; values that cannot carry a
 * property are returned as is.
 *
 * @example
 * ```ts
 * catch (err) { throw withRunCounts(err, { read: 2, delivered: 2 }); }
 * ```
 */
export function withRunCounts<T>(
  error: T,
  counts: Partial<RunCounts>,
  breakdown?: RunBreakdown,
): T {
  if (error !== null && typeof error === 'object' && Object.isExtensible(error)) {
    for (const [key, value] of [
      [RUN_COUNTS, counts],
      [RUN_BREAKDOWN, breakdown],
    ] as const) {
      if (value === undefined) continue;
      Object.defineProperty(error, key, {
        value,
        enumerable: false,
        configurable: true,
        writable: true,
      });
    }
  }
  return error;
}

/** The breakdown {@link withRunCounts} attached to `error`, or `undefined`. */
export function runBreakdownOf(error: unknown): RunBreakdown | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const breakdown = (error as Record<symbol, unknown>)[RUN_BREAKDOWN];
  return breakdown !== null && typeof breakdown === 'object'
    ? (breakdown as RunBreakdown)
    : undefined;
}

/** The counts {@link withRunCounts} attached to `error`, or `undefined`. */
export function runCountsOf(error: unknown): Partial<RunCounts> | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const counts = (error as Record<symbol, unknown>)[RUN_COUNTS];
  return counts !== null && typeof counts === 'object' ? (counts as Partial<RunCounts>) : undefined;
}

const RUN_COUNTS = Symbol.for('sluice.runCounts');
const RUN_BREAKDOWN = Symbol.for('sluice.runBreakdown');

/** What {@link ExecuteRun} receives besides the run. */
export interface ExecuteContext {
  /** Aborts on cancellation, timeout, lost claim (another worker took the run over) or shutdown. */
  signal: AbortSignal;
  /** A logger whose lines also go to the run's log in the store. */
  log: Logger;
  /** 1 on the first try, then 2, 3, … for retries and take-overs after a crash. */
  attempt: number;
}

/**
 * Runs one pipeline run: connector pages → router → destinations, committing checkpoints only
 * after every destination acknowledged (the server builds it on `@sluice/router`'s `runPipeline`).
 * Throw a `RetryableError` (or any non-Sluice error) to have the run retried with backoff, a
 * `FatalError`/`ConfigError` to fail it at once.
 *
 * @example
 * ```ts
 * const execute: ExecuteRun = async (run, { signal, log }) => {
 *   log.info({ params: run.params }, 'starting');
 *   const result = await runPipeline(pipelines[run.pipeline], { runId: run.id, signal });
 *   return { counts: result.counts };
 * };
 * ```
 */
export type ExecuteRun = (run: RunRecord, context: ExecuteContext) => Promise<RunSummary>;

/**
 * The parts of `@sluice/store` the scheduler uses (structural: any implementation fits).
 *
 * @example
 * ```ts
 * const stores: SchedulerStores = { runs: store.runs, scheduleState: store.scheduleState, webhookDeliveries: store.webhookDeliveries };
 * ```
 */
export interface SchedulerStores {
  runs: RunStore;
  scheduleState: ScheduleStateStore;
  webhookDeliveries: WebhookDeliveryStore;
  /** Needed by pipelines whose webhook trigger has `delivery: inbox`. */
  webhookInbox?: WebhookInboxStore;
}

/**
 * A request to start a run, whatever triggered it.
 *
 * @example
 * ```ts
 * const request: RunRequest = { pipeline: 'daily', trigger: 'api', params: { date: '2026-11-24' } };
 * ```
 */
export interface RunRequest {
  pipeline: string;
  trigger: RunTrigger;
  params?: JsonObject;
  /** A fixed run id (cron ticks and backfill chunks use deterministic ids); default a random UUID. */
  runId?: string;
  /** Do not start before this time (milliseconds since the epoch). */
  startAfterMs?: number;
  parentRunId?: string;
  pipelineVersion?: number | null;
}

/**
 * The result of enqueuing: the run id and whether this call created it (false when the same
 * deterministic run was already enqueued, by this or another instance).
 *
 * @example
 * ```ts
 * const { runId, created } = await scheduler.trigger('daily', { params: { date: '2026-11-24' } });
 * ```
 */
export interface EnqueuedRun {
  runId: string;
  created: boolean;
}
