/**
 * Executes one claimed run job: the run's lifecycle in the store around the host's
 * {@link ExecuteRun} — claim, take-over cap, timeout, cancellation, retry decision, outcome.
 *
 * @packageDocumentation
 */
import {
  backoffDelay,
  isRetryable,
  RetryableError,
  SluiceError,
  type Logger,
  type NewRun,
  type RunError,
  type RunOutcome,
  type RunRecord,
  type RunStore,
} from '@sluice/core';
import { RunTakeoverLimitError, takeoversSoFar, type AttemptCounts } from './attempts.js';
import type { PipelineScheduling } from './config.js';
import { createRunLogger } from './run-log.js';
import type { RunJob, RunJobData } from './run-queue.js';
import { runBreakdownOf, runCountsOf, type ExecuteRun } from './types.js';

/** Why a run's signal was aborted. */
export type AbortCause = 'cancelled' | 'timeout' | 'claim-lost' | 'shutdown';

/** Raised inside a run whose cancellation was requested. */
export class RunCancelledError extends Error {
  override readonly name = 'RunCancelledError';
}

/** Raised inside a run that exceeded its `timeoutMs`. */
export class RunTimeoutError extends RetryableError {
  constructor(timeoutMs: number) {
    super(`run exceeded its timeout of ${timeoutMs} ms`);
  }
}

/** What {@link runJob} needs. */
export interface RunWorkerDeps {
  runs: RunStore;
  /** How a first claim marks its run running; default `runs.markRunning` (the scheduler groups them). */
  markRunning?: RunStore['markRunning'];
  /** How an executed run's outcome is recorded; default `runs.markFinished` (the scheduler groups them). */
  markFinished?: RunStore['markFinished'];
  execute: ExecuteRun;
  /** The scheduler's own lines (it binds `component: 'scheduler'`). */
  logger: Logger;
  /**
   * Parent of each run's logger, without the scheduler's `component`: a run's logger binds
   * `runId`, `pipeline` and `runAttempt`, and what runs under it (router, plugins) adds its own.
   */
  runLogger: Logger;
  /** Scheduling options by pipeline name. */
  pipeline(name: string): PipelineScheduling | undefined;
  /** How often a running run polls the store for a cancellation request. */
  cancelCheckMs: number;
  /** Aborts when a stopping scheduler's grace period is over: running runs are abandoned to be retried. */
  shutdown: AbortSignal;
  /** True once the scheduler started stopping. */
  isStopping(): boolean;
  /** Cancel functions of the runs executing on this instance, so a local `cancel()` acts at once. */
  active: Map<string, () => void>;
  /** Take-overs a run gets after its worker stopped or died; the claim past them fails the run. */
  maxTakeovers: number;
  /** Enqueues the run's next try after a failure (`RunQueue.enqueueRetry`). */
  retryLater(
    data: RunJobData,
    scheduling: PipelineScheduling,
    counts: Required<AttemptCounts>,
    startAfterMs: number,
  ): Promise<unknown>;
  /** Jitter of failure backoff, in `[0, 1)`. Default `Math.random`. */
  random?: () => number;
}

/**
 * Converts any thrown value into the error stored on a run.
 *
 * @example
 * ```ts
 * toRunError(new FatalError('denied')); // { name: 'FatalError', message: 'denied', code: 'SLUICE_ERR_FATAL' }
 * ```
 */
export function toRunError(error: unknown): RunError {
  if (error instanceof SluiceError)
    return { name: error.name, message: error.message, code: error.code };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  return { name: 'Error', message: String(error) };
}

/**
 * The run record a job describes, as the store creates it.
 *
 * @example
 * ```ts
 * await store.runs.createIfAbsent(newRunOf(job.data));
 * ```
 */
export function newRunOf(data: RunJobData): NewRun & { id: string } {
  return {
    id: data.runId,
    pipeline: data.pipeline,
    trigger: data.trigger,
    params: data.params,
    queuedAt: data.queuedAt,
    ...(data.parentRunId === undefined ? {} : { parentRunId: data.parentRunId }),
    ...(data.pipelineVersion === undefined ? {} : { pipelineVersion: data.pipelineVersion }),
  };
}

/**
 * The run record a job describes, created when missing (its enqueuer crashed before writing it,
 * or a fast worker got there first). Reads first: the callers are the rarer paths (a retry, a
 * take-over, the unclaimed-run sweeper), where the record usually exists.
 *
 * @example
 * ```ts
 * const run = await ensureRunRecord(store.runs, job.data);
 * ```
 */
export async function ensureRunRecord(runs: RunStore, data: RunJobData): Promise<RunRecord> {
  const existing = await runs.get(data.runId);
  if (existing) return existing;
  const created = await runs.createIfAbsent(newRunOf(data));
  if (created) return created;
  // Created by someone else between the read and the insert.
  const raced = await runs.get(data.runId);
  if (raced) return raced;
  throw new Error(`run ${data.runId} could neither be read nor created`);
}

/**
 * True for the first claim of a run's first job: no failure before it, no take-over. Its record
 * is then `queued` (or missing, or finished when it was cancelled while queued), never `running`
 * with a cancellation pending, so claiming it needs none of the checks that read the record first.
 */
function isFirstClaim(job: RunJob): boolean {
  return job.retryCount === 0 && !job.data.failures && !job.data.takeovers;
}

/**
 * Claims the run of a job that is a retry or a take-over, or whose pipeline is not configured
 * here: the record is read first, since a pending cancellation, the take-over cap or the missing
 * pipeline each end the run without executing it.
 */
async function claimChecked(
  job: RunJob,
  deps: RunWorkerDeps,
  scheduling: PipelineScheduling | undefined,
): Promise<{ run: RunRecord | undefined; takeovers: number } | { outcome: unknown }> {
  const { runs } = deps;
  const initial = await ensureRunRecord(runs, job.data);
  if (initial.status !== 'queued' && initial.status !== 'running')
    return { outcome: { skipped: initial.status } };
  if (initial.cancelRequestedAt) {
    await runs.markFinished(initial.id, { status: 'cancelled' });
    return { outcome: { skipped: 'cancelled' } };
  }
  if (!scheduling) {
    await runs.markFinished(initial.id, {
      status: 'failed',
      error: {
        name: 'ConfigError',
        message: `pipeline ${JSON.stringify(job.data.pipeline)} is not configured on this scheduler`,
      },
    });
    return { outcome: { skipped: 'unknown-pipeline' } };
  }
  const takeovers = takeoversSoFar(job.data, job.retryCount);
  if (takeovers > deps.maxTakeovers) {
    const error = toRunError(new RunTakeoverLimitError(takeovers, deps.maxTakeovers));
    deps.logger.error(
      { runId: initial.id, pipeline: initial.pipeline, err: error },
      'run failed: too many take-overs',
    );
    await runs.markFinished(initial.id, { status: 'failed', error });
    return { outcome: { failed: error } };
  }
  return { run: await runs.markRunning(initial.id), takeovers };
}

/**
 * Handles one job. Resolves when pg-boss should complete it: the run succeeded, was cancelled,
 * failed for good, or failed and its next try was enqueued as a new job (after the pipeline's
 * retry delay). Throws only when the attempt ends without an outcome — this worker lost its claim
 * or is shutting down — so that pg-boss hands the job to another worker at once (a take-over).
 * A claim past `maxTakeovers` take-overs fails the run instead of executing it.
 *
 * @example
 * ```ts
 * await queue.work(4, (job) => runJob(job, deps));
 * ```
 */
export async function runJob(job: RunJob, deps: RunWorkerDeps): Promise<unknown> {
  const { runs } = deps;
  const data = job.data;
  const scheduling = deps.pipeline(data.pipeline);
  let run: RunRecord | undefined;
  let takeovers = 0;
  if (scheduling && isFirstClaim(job)) {
    // The common case in one statement: queued → running, or the record created running when its
    // enqueuer has not written it yet. A run cancelled while queued comes back unchanged.
    const markRunning = deps.markRunning ?? ((id, options) => runs.markRunning(id, options));
    run = await markRunning(data.runId, { ifMissing: newRunOf(data) });
  } else {
    const claimed = await claimChecked(job, deps, scheduling);
    if ('outcome' in claimed) return claimed.outcome;
    ({ run, takeovers } = claimed);
  }
  if (!run || run.status !== 'running' || !scheduling) return { skipped: run?.status ?? 'missing' };

  // `runAttempt`, not `attempt`: lines about a request's or a batch's retries use that key.
  const log = createRunLogger(deps.runLogger, runs, run.id, {
    pipeline: run.pipeline,
    runAttempt: run.attempt,
  });
  // The run's own lifecycle lines come from the scheduler; the executor gets `log` itself.
  const lifecycle = log.child({ component: 'scheduler' });
  if (job.retryCount > 0) {
    lifecycle.warn(
      { takeovers, maxTakeovers: deps.maxTakeovers },
      'run taken over: its previous attempt ended without an outcome (worker stopped or died)',
    );
  }
  const controller = new AbortController();
  let cause: AbortCause | undefined;
  const abort = (why: AbortCause, reason: Error) => {
    if (controller.signal.aborted) return;
    cause = why;
    controller.abort(reason);
  };
  deps.active.set(run.id, () =>
    abort('cancelled', new RunCancelledError('cancellation requested')),
  );
  const onClaimLost = () =>
    abort(
      deps.isStopping() ? 'shutdown' : 'claim-lost',
      new Error('the run was taken over or its job cancelled'),
    );
  const onShutdown = () => abort('shutdown', new Error('the scheduler is shutting down'));
  job.signal.addEventListener('abort', onClaimLost, { once: true });
  // Shutdown does not abort at once: pg-boss's graceful stop waits for handlers and aborts
  // job.signal when its timeout passes. The scheduler's own signal covers a forced stop.
  deps.shutdown.addEventListener('abort', onShutdown, { once: true });
  const timeout = setTimeout(
    () => abort('timeout', new RunTimeoutError(scheduling.timeoutMs)),
    scheduling.timeoutMs,
  );
  const cancelPoll = setInterval(() => {
    runs.isCancelRequested(run.id).then(
      (requested) => {
        if (requested) abort('cancelled', new RunCancelledError('cancellation requested'));
      },
      (error: unknown) => lifecycle.debug({ err: error }, 'cancellation check failed'),
    );
  }, deps.cancelCheckMs);

  const markFinished = deps.markFinished ?? ((id, outcome) => runs.markFinished(id, outcome));
  // The outcome and the run's last log line in one statement, after the lines logged before it.
  const finish = async (
    outcome: Omit<RunOutcome, 'log'>,
    line?: { level: 'info' | 'error'; fields?: object; msg: string },
  ) => {
    await log.flush();
    await markFinished(run.id, {
      ...outcome,
      ...(line
        ? {
            log: [
              line.fields === undefined
                ? lifecycle.deferLine(line.level, line.msg)
                : lifecycle.deferLine(line.level, line.fields, line.msg),
            ],
          }
        : {}),
    });
  };
  try {
    const summary = await execute(deps.execute, run, controller.signal, log);
    if (cause === 'cancelled') {
      await finish({ status: 'cancelled' });
      return { cancelled: true };
    }
    const counts = summary.counts ?? {};
    await finish(
      {
        status: 'succeeded',
        counts,
        ...(summary.breakdown ? { breakdown: summary.breakdown } : {}),
      },
      { level: 'info', fields: { counts }, msg: 'run succeeded' },
    );
    return { counts };
  } catch (error) {
    if (cause === 'cancelled') {
      await finish({ status: 'cancelled' }, { level: 'info', msg: 'run cancelled' });
      return { cancelled: true };
    }
    if (cause === 'claim-lost' || cause === 'shutdown') {
      // No outcome from this attempt. Lost claim: another worker owns the run now (or its job was
      // cancelled), and the outcome is theirs to write. Shutdown: the job goes back to pg-boss,
      // which hands it to another worker at once; the retry policy is not involved either way.
      lifecycle.warn(
        cause === 'shutdown'
          ? 'run handed back: the scheduler is stopping, another worker takes it over'
          : 'run abandoned: its job is no longer claimed by this worker',
      );
      throw error;
    }
    const failures = (data.failures ?? 0) + 1;
    if ((cause === 'timeout' || isRetryable(error)) && failures < scheduling.retry.maxAttempts) {
      // Core's one backoff formula; a RetryableError that asks for a wait (Retry-After) gets at least that.
      const delayMs = backoffDelay(
        scheduling.retry,
        failures,
        error instanceof RetryableError ? error.retryAfterMs : undefined,
        deps.random,
      );
      lifecycle.warn(
        { err: toRunError(error), retry: failures, of: scheduling.retry.maxAttempts - 1, delayMs },
        'run attempt failed; it will be retried',
      );
      await deps.retryLater(data, scheduling, { failures, takeovers }, Date.now() + delayMs);
      return { retrying: { failures, delayMs } };
    }
    // What was read and delivered before the failure stays on the record (withRunCounts).
    const counts = runCountsOf(error);
    const breakdown = runBreakdownOf(error);
    await finish(
      {
        status: 'failed',
        error: toRunError(error),
        ...(counts ? { counts } : {}),
        ...(breakdown ? { breakdown } : {}),
      },
      { level: 'error', fields: { err: toRunError(error) }, msg: 'run failed' },
    );
    return { failed: toRunError(error) };
  } finally {
    clearTimeout(timeout);
    clearInterval(cancelPoll);
    job.signal.removeEventListener('abort', onClaimLost);
    deps.shutdown.removeEventListener('abort', onShutdown);
    deps.active.delete(run.id);
    await log.flush();
  }
}

async function execute(
  fn: ExecuteRun,
  run: RunRecord,
  signal: AbortSignal,
  log: ReturnType<typeof createRunLogger>,
) {
  // Reject as soon as the signal aborts even if the pipeline ignores it, so a stuck source
  // cannot hold the worker past its timeout or a cancellation.
  if (signal.aborted) throw signal.reason;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const running = fn(run, { signal, log, attempt: run.attempt });
    // If the abort wins the race, a later rejection of the pipeline must not go unhandled.
    running.catch(() => undefined);
    return await Promise.race([running, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
