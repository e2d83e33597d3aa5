/**
 * The run queue: one pg-boss queue with the `singleton` policy. Every job carries a singleton
 * key derived from its pipeline, and PostgreSQL's unique index on (queue, singleton key) for
 * active jobs guarantees that two runs with the same key never execute at once, across every
 * instance. A pipeline that must not overlap uses one key; one allowed `n` concurrent runs
 * spreads its runs over `n` keys. Job ids are run ids, and pg-boss inserts with
 * `ON CONFLICT DO NOTHING`, so enqueuing the same deterministic run twice is a no-op.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import type { JsonObject, Logger, RunTrigger } from '@sluice/core';
import { PgBoss, type ConstructorOptions, type Job, type JobInsert } from 'pg-boss';
import type { PipelineScheduling } from './config.js';

/** Default pg-boss queue name. */
export const DEFAULT_QUEUE_NAME = 'sluice-runs';

/** What a queued job carries, enough to recreate the run record if the enqueuer crashed before writing it. */
export interface RunJobData {
  runId: string;
  pipeline: string;
  trigger: RunTrigger;
  params: JsonObject;
  queuedAt: string;
  parentRunId?: string;
  pipelineVersion?: number | null;
}

/** How {@link RunQueue} connects and behaves. */
export interface RunQueueOptions {
  /**
   * pg-boss constructor options (spread `store.pgBossDb()` in, plus e.g. `schema`), or a pg-boss
   * instance the caller owns (the queue then neither starts nor stops it).
   */
  boss: ConstructorOptions | PgBoss;
  queueName?: string;
  /** Seconds without a heartbeat after which a crashed worker's run is re-queued (>= 10). Default 30. */
  heartbeatSeconds?: number;
  /** Worker poll interval when no notification arrives, in seconds (>= 0.5). Default 2. */
  pollingIntervalSeconds?: number;
  logger: Logger;
}

/** One job as the worker receives it. */
export type RunJob = Job<RunJobData>;

/**
 * The singleton key of a run: the pipeline for a pipeline that must not overlap, else one of its
 * `concurrency` slots, chosen by a hash of the run id.
 *
 * @example
 * ```ts
 * runSlotKey('daily', 1, runId); // 'daily'
 * runSlotKey('events', 4, runId); // 'events#2'
 * ```
 */
export function runSlotKey(pipeline: string, concurrency: number, runId: string): string {
  if (concurrency <= 1) return pipeline;
  const slot = createHash('sha256').update(runId).digest().readUInt32BE(0) % concurrency;
  return `${pipeline}#${slot}`;
}

/**
 * pg-boss options for a queue the scheduler owns: NOTIFY on, and pg-boss's supervisor — which
 * fails jobs whose heartbeat lapsed so another worker takes them over — checking every third of
 * the heartbeat instead of pg-boss's default 60 s. A crashed worker's run is then taken over
 * about `heartbeatSeconds` after the crash, as documented, not up to a minute later. Options the
 * caller gives win.
 *
 * @example
 * ```ts
 * ownedBossOptions({ connectionString }, 30); // { useListenNotify: true, superviseIntervalSeconds: 10, connectionString }
 * ```
 */
export function ownedBossOptions(options: ConstructorOptions, heartbeatSeconds: number): ConstructorOptions {
  return { useListenNotify: true, superviseIntervalSeconds: Math.max(1, Math.floor(heartbeatSeconds / 3)), ...options };
}

/**
 * The pg-boss side of the scheduler: queue creation, enqueue, workers, cancel.
 *
 * @example
 * ```ts
 * const queue = new RunQueue({ boss: { connectionString }, logger });
 * await queue.start();
 * await queue.enqueue(data, scheduling);
 * ```
 */
export class RunQueue {
  readonly name: string;
  readonly boss: PgBoss;
  readonly #ownsBoss: boolean;
  readonly #heartbeatSeconds: number;
  readonly #pollingIntervalSeconds: number;
  readonly #logger: Logger;
  #started = false;

  constructor(options: RunQueueOptions) {
    this.name = options.queueName ?? DEFAULT_QUEUE_NAME;
    this.#heartbeatSeconds = Math.max(10, Math.round(options.heartbeatSeconds ?? 30));
    this.#pollingIntervalSeconds = Math.max(0.5, options.pollingIntervalSeconds ?? 2);
    this.#logger = options.logger;
    if (options.boss instanceof PgBoss) {
      this.boss = options.boss;
      this.#ownsBoss = false;
    } else {
      this.boss = new PgBoss(ownedBossOptions(options.boss, this.#heartbeatSeconds));
      this.#ownsBoss = true;
    }
    // pg-boss reports connection losses and maintenance failures as events; an unhandled
    // 'error' event would crash the process, and pg-boss reconnects on its own.
    this.boss.on('error', (error: unknown) => this.#logger.warn({ err: error }, 'job queue error'));
  }

  /** Starts pg-boss (when owned) and creates the queue if missing. */
  async start(): Promise<void> {
    if (this.#started) return;
    if (this.#ownsBoss) await this.boss.start({ attempts: 5 });
    const existing = await this.boss.getQueue(this.name);
    if (!existing) {
      try {
        await this.boss.createQueue(this.name, { policy: 'singleton', notify: true });
      } catch (error) {
        // Another instance created it between the check and the create.
        if (!(await this.boss.getQueue(this.name))) throw error;
      }
    }
    this.#started = true;
  }

  /**
   * Inserts the job of one run. Resolves `true` when inserted, `false` when a job with that id
   * already exists (the same deterministic run enqueued elsewhere).
   */
  async enqueue(data: RunJobData, scheduling: PipelineScheduling, startAfterMs?: number): Promise<boolean> {
    const job: JobInsert<RunJobData> = {
      id: data.runId,
      data: { ...data, params: nulSafeParams(data.params) },
      singletonKey: runSlotKey(data.pipeline, scheduling.concurrency, data.runId),
      retryLimit: scheduling.retry.limit,
      retryDelay: Math.ceil(scheduling.retry.delayMs / 1000),
      retryBackoff: scheduling.retry.backoff,
      retryDelayMax: Math.max(1, Math.ceil(scheduling.retry.maxDelayMs / 1000)),
      // The worker aborts the run at timeoutMs; pg-boss's own expiry is the backstop for a hung handler.
      expireInSeconds: Math.ceil(scheduling.timeoutMs / 1000) + 60,
      heartbeatSeconds: this.#heartbeatSeconds,
      ...(startAfterMs !== undefined && startAfterMs > Date.now() ? { startAfter: new Date(startAfterMs) } : {}),
    };
    const ids = await this.boss.insert(this.name, [job], { returnId: true });
    return (ids?.length ?? 0) > 0;
  }

  /** Registers `concurrency` local workers; each handles one run at a time. Returns the worker id. */
  async work(concurrency: number, handler: (job: RunJob) => Promise<unknown>): Promise<string> {
    return this.boss.work<RunJobData>(
      this.name,
      {
        localConcurrency: concurrency,
        batchSize: 1,
        pollingIntervalSeconds: this.#pollingIntervalSeconds,
        // NOTIFY only announces new jobs; a run that waited for its pipeline's previous run, or a
        // retry whose backoff elapsed, is found by polling, so polling stays at its normal pace.
        notifyPollingIntervalSeconds: this.#pollingIntervalSeconds,
        // Refresh often: a cancelled job's claim disappears, and the refresh is what notices.
        heartbeatRefreshSeconds: Math.min(5, Math.max(1, Math.floor(this.#heartbeatSeconds / 3))),
      },
      async (jobs) => {
        for (const job of jobs) await handler({ ...job, data: { ...job.data, params: restoreParams(job.data.params) } });
      },
    );
  }

  /** Cancels a queued (or active) job; true when pg-boss knew it. */
  async cancel(runId: string): Promise<void> {
    await this.boss.cancel(this.name, runId);
  }

  /** Stops the workers; waits up to `timeoutMs` for running handlers, then stops pg-boss when owned. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    if (this.#ownsBoss) {
      await this.boss.stop({ graceful: true, timeout: timeoutMs, close: true });
    } else {
      await this.boss.offWork(this.name, { wait: true });
    }
  }
}

// pg-boss keeps job data in jsonb, which refuses U+0000 in strings: parameters holding it (webhook
// records may) travel as their JSON text under this key, where the NUL is only its escape.
const NUL_SAFE_KEY = '$sluice:json-text';

/**
 * Job-data form of run parameters that jsonb can hold (see {@link restoreParams}).
 *
 * @example
 * ```ts
 * restoreParams(nulSafeParams({ records: [{ s: 'a\u0000' }] })); // { records: [{ s: 'a\u0000' }] }
 * ```
 */
export function nulSafeParams(params: JsonObject): JsonObject {
  const text = JSON.stringify(params);
  return text.includes('\\u0000') || text.includes(NUL_SAFE_KEY) ? { [NUL_SAFE_KEY]: text } : params;
}

/** The parameters {@link nulSafeParams} wrapped, as they were given. */
export function restoreParams(params: JsonObject): JsonObject {
  const text = params?.[NUL_SAFE_KEY];
  return typeof text === 'string' && Object.keys(params).length === 1 ? (JSON.parse(text) as JsonObject) : params;
}
