/**
 * Runs nobody can execute. Every instance works only the queues of the pipelines it has, at its
 * own version of each (see `run-queue.ts`), so during a rolling deploy a run waits for a replica
 * that has its pipeline at the version it was enqueued under, or a later one. When no such
 * replica shows up, the run must not wait forever: each worker instance watches the pipeline
 * queues, and a job that could have started (its start time passed, no run of its pipeline
 * executing anywhere) but stayed unclaimed for `unclaimedRunTimeoutSeconds` is cancelled — only
 * while still queued, in one statement, so a worker claiming it at that moment keeps it — and
 * its run is failed with a {@link RunUnclaimedError} naming the pipeline and the version.
 *
 * @packageDocumentation
 */
import { FatalError, type Logger, type RunStore } from '@sluice/core';
import type { ClaimableJob, RunQueue } from './run-queue.js';
import { ensureRunRecord, toRunError } from './run-worker.js';

/**
 * How long a run that could start may stay unclaimed before it fails, by default: ten minutes,
 * longer than a rolling deploy of a few replicas takes, short enough that a run no replica can
 * execute is reported the same hour.
 *
 * @example
 * ```ts
 * createScheduler({ ...options, unclaimedRunTimeoutSeconds: DEFAULT_UNCLAIMED_RUN_TIMEOUT_SECONDS });
 * ```
 */
export const DEFAULT_UNCLAIMED_RUN_TIMEOUT_SECONDS = 600;

/**
 * Bounds of `unclaimedRunTimeoutSeconds`: at least 10 s (several worker poll intervals, so a
 * replica that has the pipeline always gets to claim first), at most 7 days.
 *
 * @example
 * ```ts
 * UNCLAIMED_RUN_TIMEOUT_LIMITS.min; // 10
 * ```
 */
export const UNCLAIMED_RUN_TIMEOUT_LIMITS = { min: 10, max: 7 * 24 * 3600 } as const;

/**
 * Ends a run that no instance able to execute it claimed within `unclaimedRunTimeoutSeconds`:
 * none of the live instances has its pipeline, or none has the version it was enqueued under
 * (or a later one).
 *
 * @example
 * ```ts
 * throw new RunUnclaimedError('daily', 7, 600);
 * ```
 */
export class RunUnclaimedError extends FatalError {
  override readonly name: string = 'RunUnclaimedError';

  constructor(pipeline: string, version: number | null | undefined, timeoutSeconds: number) {
    const at =
      typeof version === 'number'
        ? `version ${version} of pipeline ${JSON.stringify(pipeline)}`
        : `pipeline ${JSON.stringify(pipeline)}`;
    super(
      `no instance that can execute ${at} claimed this run within ${timeoutSeconds} s (unclaimedRunTimeoutSeconds): ` +
        `no running instance has ${typeof version === 'number' ? `that version or a later one of the pipeline` : 'the pipeline'} enabled in its configuration`,
      {
        details: {
          pipeline,
          pipelineVersion: typeof version === 'number' ? version : null,
          unclaimedRunTimeoutSeconds: timeoutSeconds,
        },
      },
    );
  }
}

/** What {@link UnclaimedRunSweeper} needs. */
export interface UnclaimedRunSweeperOptions {
  queue: Pick<RunQueue, 'claimableJobs' | 'cancelIfQueued'>;
  runs: RunStore;
  logger: Logger;
  /** Seconds a run that could start may stay unclaimed. */
  timeoutSeconds: number;
  /** Between two looks at the queues. Default a tenth of the timeout, from 1 s to 30 s. */
  intervalMs?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * Watches the pipeline queues and fails the runs no instance claims (see the module
 * documentation). A job counts as unclaimed from the first look that finds it claimable, until
 * a look finds it claimed or waiting for something else, so it fails between `timeoutSeconds`
 * and `timeoutSeconds` plus two intervals after it could have started (or after this instance
 * started, for older jobs). Several instances may sweep at once: one cancel wins.
 *
 * @example
 * ```ts
 * const sweeper = new UnclaimedRunSweeper({ queue, runs: store.runs, logger, timeoutSeconds: 600 });
 * sweeper.start();
 * await sweeper.stop();
 * ```
 */
export class UnclaimedRunSweeper {
  readonly #options: UnclaimedRunSweeperOptions;
  readonly #since = new Map<string, number>();
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #sweeping: Promise<unknown> | undefined;

  constructor(options: UnclaimedRunSweeperOptions) {
    this.#options = options;
    this.#intervalMs =
      options.intervalMs ?? Math.min(30_000, Math.max(1000, (options.timeoutSeconds * 1000) / 10));
  }

  /** Looks at the queues every interval until {@link stop}. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#sweeping) return;
      this.#sweeping = this.sweep()
        .catch((error: unknown) =>
          this.#options.logger.warn(
            { err: error },
            'could not check the queues for unclaimed runs',
          ),
        )
        .finally(() => {
          this.#sweeping = undefined;
        });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops looking; waits for a look in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping;
  }

  /** One look: notes the claimable jobs, fails those unclaimed for the timeout. Resolves the runs it failed. */
  async sweep(): Promise<string[]> {
    const now = (this.#options.now ?? Date.now)();
    const jobs = await this.#options.queue.claimableJobs();
    const seen = new Set(jobs.map((job) => job.id));
    for (const id of this.#since.keys()) if (!seen.has(id)) this.#since.delete(id);
    const failed: string[] = [];
    for (const job of jobs) {
      const since = this.#since.get(job.id);
      if (since === undefined) {
        this.#since.set(job.id, now);
        continue;
      }
      if (now - since < this.#options.timeoutSeconds * 1000) continue;
      this.#since.delete(job.id);
      if (await this.#fail(job)) failed.push(job.data.runId);
    }
    return failed;
  }

  async #fail(job: ClaimableJob): Promise<boolean> {
    // Only a job still queued is cancelled: a worker that claimed it meanwhile keeps it.
    if (!(await this.#options.queue.cancelIfQueued(job.queue, job.id))) return false;
    const { runs, logger, timeoutSeconds } = this.#options;
    const run = await ensureRunRecord(runs, job.data);
    if (run.status !== 'queued' && run.status !== 'running') return false;
    const error = toRunError(
      new RunUnclaimedError(job.data.pipeline, job.data.pipelineVersion, timeoutSeconds),
    );
    logger.error(
      {
        runId: run.id,
        pipeline: job.data.pipeline,
        pipelineVersion: job.data.pipelineVersion ?? null,
        err: error,
      },
      'run failed: no instance that can execute it claimed it',
    );
    await runs.markFinished(run.id, { status: 'failed', error });
    return true;
  }
}
