/**
 * Executes one claimed run job: the run's lifecycle in the store around the host's
 * {@link ExecuteRun} — claim, timeout, cancellation, retry decision, outcome.
 *
 * @packageDocumentation
 */
import { isRetryable, RetryableError, SluiceError, type Logger, type RunError, type RunRecord, type RunStore } from '@sluice/core';
import type { PipelineScheduling } from './config.js';
import { createRunLogger } from './run-log.js';
import type { RunJob, RunJobData } from './run-queue.js';
import type { ExecuteRun } from './types.js';

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
  execute: ExecuteRun;
  logger: Logger;
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
  if (error instanceof SluiceError) return { name: error.name, message: error.message, code: error.code };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(error) };
}

/**
 * Creates the run record a job describes, tolerating a concurrent creation (the enqueuer and a
 * fast worker may both try).
 *
 * @example
 * ```ts
 * const run = await ensureRunRecord(store.runs, job.data);
 * ```
 */
export async function ensureRunRecord(runs: RunStore, data: RunJobData): Promise<RunRecord> {
  const existing = await runs.get(data.runId);
  if (existing) return existing;
  try {
    return await runs.create({
      id: data.runId,
      pipeline: data.pipeline,
      trigger: data.trigger,
      params: data.params,
      queuedAt: data.queuedAt,
      ...(data.parentRunId === undefined ? {} : { parentRunId: data.parentRunId }),
      ...(data.pipelineVersion === undefined ? {} : { pipelineVersion: data.pipelineVersion }),
    });
  } catch (error) {
    const raced = await runs.get(data.runId);
    if (raced) return raced;
    throw error;
  }
}

/**
 * Handles one job. Resolves when pg-boss should complete it (success, cancellation, a failure
 * that must not be retried); throws when pg-boss should retry it with backoff (or fail it for
 * good once its retries are used up, after which the run is marked `failed` here).
 *
 * @example
 * ```ts
 * await queue.work(4, (job) => runJob(job, deps));
 * ```
 */
export async function runJob(job: RunJob, deps: RunWorkerDeps): Promise<unknown> {
  const { runs } = deps;
  const data = job.data;
  const initial = await ensureRunRecord(runs, data);
  if (initial.status !== 'queued' && initial.status !== 'running') return { skipped: initial.status };
  if (initial.cancelRequestedAt) {
    await runs.markFinished(initial.id, { status: 'cancelled' });
    return { skipped: 'cancelled' };
  }
  const scheduling = deps.pipeline(data.pipeline);
  if (!scheduling) {
    await runs.markFinished(initial.id, {
      status: 'failed',
      error: { name: 'ConfigError', message: `pipeline ${JSON.stringify(data.pipeline)} is not configured on this scheduler` },
    });
    return { skipped: 'unknown-pipeline' };
  }
  const run = await runs.markRunning(initial.id);
  if (!run || run.status !== 'running') return { skipped: run?.status ?? 'missing' };

  const log = createRunLogger(deps.logger, runs, run.id, { pipeline: run.pipeline, attempt: run.attempt });
  const controller = new AbortController();
  let cause: AbortCause | undefined;
  const abort = (why: AbortCause, reason: Error) => {
    if (controller.signal.aborted) return;
    cause = why;
    controller.abort(reason);
  };
  deps.active.set(run.id, () => abort('cancelled', new RunCancelledError('cancellation requested')));
  const onClaimLost = () => abort(deps.isStopping() ? 'shutdown' : 'claim-lost', new Error('the run was taken over or its job cancelled'));
  const onShutdown = () => abort('shutdown', new Error('the scheduler is shutting down'));
  job.signal.addEventListener('abort', onClaimLost, { once: true });
  // Shutdown does not abort at once: pg-boss's graceful stop waits for handlers and aborts
  // job.signal when its timeout passes. The scheduler's own signal covers a forced stop.
  deps.shutdown.addEventListener('abort', onShutdown, { once: true });
  const timeout = setTimeout(() => abort('timeout', new RunTimeoutError(scheduling.timeoutMs)), scheduling.timeoutMs);
  const cancelPoll = setInterval(() => {
    runs.isCancelRequested(run.id).then(
      (requested) => {
        if (requested) abort('cancelled', new RunCancelledError('cancellation requested'));
      },
      (error: unknown) => log.debug({ err: error }, 'cancellation check failed'),
    );
  }, deps.cancelCheckMs);

  try {
    const summary = await execute(deps.execute, run, controller.signal, log);
    if (cause === 'cancelled') {
      await runs.markFinished(run.id, { status: 'cancelled' });
      return { cancelled: true };
    }
    await runs.markFinished(run.id, { status: 'succeeded', counts: summary.counts ?? {} });
    log.info({ counts: summary.counts ?? {} }, 'run succeeded');
    return { counts: summary.counts ?? {} };
  } catch (error) {
    if (cause === 'cancelled') {
      log.info('run cancelled');
      await runs.markFinished(run.id, { status: 'cancelled' });
      return { cancelled: true };
    }
    if (cause === 'claim-lost') {
      // Another worker owns the run now (or the job was cancelled): its outcome is theirs to write.
      log.warn('run abandoned: its job is no longer claimed by this worker');
      throw error;
    }
    const retryable = cause === 'shutdown' || cause === 'timeout' || isRetryable(error);
    const retriesLeft = scheduling.retry.limit - job.retryCount;
    if (retryable && retriesLeft > 0) {
      log.warn({ err: toRunError(error), retriesLeft }, 'run attempt failed; it will be retried');
      throw error;
    }
    log.error({ err: toRunError(error) }, 'run failed');
    await runs.markFinished(run.id, { status: 'failed', error: toRunError(error) });
    if (retryable) throw error;
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

async function execute(fn: ExecuteRun, run: RunRecord, signal: AbortSignal, log: ReturnType<typeof createRunLogger>) {
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
