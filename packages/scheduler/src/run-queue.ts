/**
 * The run queue: one pg-boss queue with the `singleton` policy. Every job carries a singleton
 * key derived from its pipeline, and PostgreSQL's unique index on (queue, singleton key) for
 * active jobs guarantees that two runs with the same key never execute at once, across every
 * instance. A pipeline that must not overlap uses one key; one allowed `n` concurrent runs
 * spreads its runs over `n` keys. A run's first job has the run id as its id, and pg-boss
 * inserts with `ON CONFLICT DO NOTHING`, so enqueuing the same deterministic run twice is a no-op.
 *
 * pg-boss's own retries are used for take-overs only (see `attempts.ts`): a job is re-claimed at
 * once after its worker's heartbeat lapsed, up to `maxTakeovers + 1` times, whatever the
 * pipeline's retry policy. A retry after a failure is a new job of the same run. A job pg-boss
 * fails for good is copied to the `<queue>.abandoned` queue, whose worker marks its run failed.
 *
 * Each pipeline has a queue of its own, `<queue>/<pipeline>` ({@link pipelineQueueName}), and an
 * instance works only the queues of the pipelines it has, so it never claims a run it cannot
 * execute (issue 23, rolling config changes across replicas). A job's priority is minus the
 * pipeline version it was enqueued under (0 without one), and a worker claims only jobs with a
 * priority of at least minus its own version of the pipeline: an instance with an older version
 * leaves the run to one that has the run's version or a later one. Older versions are claimed
 * first (pg-boss claims by priority, then age), which keeps runs in about the order they were
 * queued. Jobs of the shared `<queue>` itself (enqueued by an older Sluice) are still worked.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import {
  createKeyedGroupCommit,
  type JsonObject,
  type Logger,
  type RunTrigger,
} from '@sluice/core';
import { PgBoss, type ConstructorOptions, type JobInsert } from 'pg-boss';
import { DEFAULT_MAX_TAKEOVERS, type AttemptCounts } from './attempts.js';
import type { PipelineScheduling } from './config.js';
import { deterministicUuid } from './ids.js';
import type {
  DeadLetteredJob,
  JobQueueInstance,
  JobQueueOptions,
  QueuedJob,
} from './job-queue-types.js';

/** Default pg-boss queue name. */
export const DEFAULT_QUEUE_NAME = 'sluice-runs';

/**
 * What a queued job carries: enough to recreate the run record if the enqueuer crashed before
 * writing it, and the run's failure and take-over counts so far.
 */
export interface RunJobData extends AttemptCounts {
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
  boss: JobQueueOptions | JobQueueInstance;
  queueName?: string;
  /** Schema of pg-boss's tables, when `boss` is an instance (options carry their own). Default `pgboss`. */
  schema?: string;
  /** Seconds without a heartbeat after which a crashed worker's run is re-queued (>= 10). Default 30. */
  heartbeatSeconds?: number;
  /** Take-overs of a run after its worker stopped or died, before it is failed (0–100). Default 10. */
  maxTakeovers?: number;
  /** Worker poll interval when no notification arrives, in seconds (>= 0.5). Default 2. */
  pollingIntervalSeconds?: number;
  logger: Logger;
}

/** One job as the worker receives it. */
export type RunJob = QueuedJob<RunJobData>;

/** A job pg-boss failed for good, as the abandoned-runs worker receives it (`sourceOutput` says why). */
export type AbandonedRunJob = DeadLetteredJob<RunJobData>;

/**
 * The name of the queue that receives the jobs pg-boss failed for good.
 *
 * @example
 * ```ts
 * abandonedQueueName('sluice-runs'); // 'sluice-runs.abandoned'
 * ```
 */
export function abandonedQueueName(queueName: string): string {
  return `${queueName}.abandoned`;
}

/**
 * The queue of one pipeline's runs. `/` cannot occur in a pipeline name, so no pipeline's queue
 * is another's or the abandoned-runs queue.
 *
 * @example
 * ```ts
 * pipelineQueueName('sluice-runs', 'daily'); // 'sluice-runs/daily'
 * ```
 */
export function pipelineQueueName(queueName: string, pipeline: string): string {
  return `${queueName}/${pipeline}`;
}

/**
 * The pg-boss priority of a run's job: minus the pipeline version it was enqueued under, 0
 * without a version. A worker with version `v` claims priorities `>= -v` (see
 * {@link RunQueue.workPipeline}).
 *
 * @example
 * ```ts
 * versionPriority(3);    // -3
 * versionPriority(null); // 0
 * ```
 */
export function versionPriority(version: number | null | undefined): number {
  return typeof version === 'number' && Number.isInteger(version) && version > 0 ? -version : 0;
}

/** What {@link RunQueue.workPipeline} needs to know about the pipeline on this instance. */
export interface PipelineWorkOptions {
  /** Runs of the pipeline executing at once on this instance. */
  concurrency: number;
  /** This instance's version of the pipeline: it claims runs of this version or older. Absent: any version. */
  version?: number | null | undefined;
  /**
   * The pipeline's `concurrency` across every instance (its singleton keys). When `concurrency`
   * here covers it, a worker claims up to `concurrency` queued runs in one fetch (one run per key,
   * so never more than the pipeline allows); otherwise one run a fetch, so this instance never
   * holds more runs than its own `concurrency`. Default: `concurrency`.
   */
  keys?: number;
}

/** A queued job that no worker claimed although it could start (see {@link RunQueue.claimableJobs}). */
export interface ClaimableJob {
  id: string;
  queue: string;
  data: RunJobData;
}

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
 * The channel pg-boss sends a queue's NOTIFY on (its payload: the queue's name) for the pg-boss
 * schema `schema`: `pgboss_` and the first 24 hex digits of the schema name's SHA-224, as pg-boss
 * 12 derives it.
 *
 * @example
 * ```ts
 * jobNotifyChannel('pgboss'); // 'pgboss_' + 24 hex digits
 * ```
 */
export function jobNotifyChannel(schema: string): string {
  // pg-boss drops quotes around a schema name that needs none before hashing it.
  const name = /^"[a-z_][a-z0-9_]*"$/.test(schema) ? schema.slice(1, -1) : schema;
  return `pgboss_${createHash('sha224').update(name).digest('hex').slice(0, 24)}`;
}

/**
 * pg-boss options for a queue the scheduler owns: NOTIFY on, and pg-boss's heartbeat check —
 * which fails the jobs whose heartbeat lapsed so another worker takes them over — running every
 * third of the heartbeat instead of pg-boss's default 60 s. The check runs in the supervisor's
 * pass (`superviseIntervalSeconds`) but only on the queues whose monitor is due
 * (`monitorIntervalSeconds`), so both are set. A crashed worker's run is then taken over about
 * `heartbeatSeconds` after the crash, as documented, not up to a minute later. pg-boss's own
 * LISTEN is off: it wakes every worker of a queue for each job, and all but one fetch nothing; the
 * queue listens on the same channel itself and wakes one idle worker a job (see
 * {@link RunQueue.start}). The queues still send their NOTIFY, inside each insert. Options the
 * caller gives win.
 *
 * @example
 * ```ts
 * ownedBossOptions({ connectionString }, 30);
 * // { useListenNotify: false, superviseIntervalSeconds: 10, monitorIntervalSeconds: 10, connectionString }
 * ```
 */
export function ownedBossOptions(
  options: JobQueueOptions,
  heartbeatSeconds: number,
): JobQueueOptions {
  const checkSeconds = Math.max(1, Math.floor(heartbeatSeconds / 3));
  return {
    useListenNotify: false,
    superviseIntervalSeconds: checkSeconds,
    monitorIntervalSeconds: checkSeconds,
    ...options,
  };
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
  /** The queue of jobs pg-boss failed for good (see {@link abandonedQueueName}). */
  readonly abandonedName: string;
  /** The pg-boss instance (typed by its lifecycle only; the queue itself uses all of pg-boss). */
  get boss(): JobQueueInstance {
    return this.#boss;
  }
  readonly #boss: PgBoss;
  readonly #ownsBoss: boolean;
  readonly #heartbeatSeconds: number;
  readonly #maxTakeovers: number;
  readonly #pollingIntervalSeconds: number;
  readonly #logger: Logger;
  /** Schema of pg-boss's tables, for the one query pg-boss has no call for ({@link claimableJobs}). */
  readonly #schema: string;
  /** Pipeline queues known to exist. */
  readonly #queues = new Set<string>();
  /** Pipeline workers of this instance: pipeline → worker id and what it was started with. */
  readonly #pipelineWorkers = new Map<
    string,
    { ids: string[]; concurrency: number; batchSize: number; version: number | undefined }
  >();
  /** The run workers of this instance by queue, for waking an idle one when a job is enqueued. */
  readonly #workers = new Map<string, Set<WorkerSlot>>();
  /** Per queue, the index of the worker woken last: the next wake-up goes to the next idle one. */
  readonly #lastWoken = new Map<string, number>();
  /** This instance's LISTEN on pg-boss's NOTIFY channel (PostgreSQL, a pg-boss it owns). */
  #listener: { close(): Promise<void> } | undefined;
  #started = false;

  constructor(options: RunQueueOptions) {
    this.name = options.queueName ?? DEFAULT_QUEUE_NAME;
    this.abandonedName = abandonedQueueName(this.name);
    this.#maxTakeovers = options.maxTakeovers ?? DEFAULT_MAX_TAKEOVERS;
    this.#heartbeatSeconds = Math.max(10, Math.round(options.heartbeatSeconds ?? 30));
    this.#pollingIntervalSeconds = Math.max(0.5, options.pollingIntervalSeconds ?? 2);
    this.#logger = options.logger;
    this.#schema =
      options.schema ??
      (options.boss instanceof PgBoss ? undefined : (options.boss as JobQueueOptions).schema) ??
      'pgboss';
    if (options.boss instanceof PgBoss) {
      this.#boss = options.boss;
      this.#ownsBoss = false;
    } else {
      const bossOptions: ConstructorOptions = ownedBossOptions(
        options.boss as JobQueueOptions,
        this.#heartbeatSeconds,
      );
      this.#boss = new PgBoss(bossOptions);
      this.#ownsBoss = true;
    }
    // pg-boss reports connection losses and maintenance failures as events; an unhandled
    // 'error' event would crash the process, and pg-boss reconnects on its own.
    this.#boss.on('error', (error: unknown) =>
      this.#logger.warn({ err: error }, 'job queue error'),
    );
  }

  /** Starts pg-boss (when owned) and creates the run queue and the abandoned-runs queue if missing. */
  async start(): Promise<void> {
    if (this.#started) return;
    if (this.#ownsBoss) await this.#boss.start({ attempts: 5 });
    // The abandoned-runs queue first: pg-boss drops a failed job's copy when its queue is missing.
    // Its jobs only mark a run failed, so they retry a few times with backoff if the store is down.
    await this.#ensureQueue(this.abandonedName, {
      policy: 'standard',
      retryLimit: 10,
      retryDelay: 2,
      retryBackoff: true,
      retryDelayMax: 300,
    });
    await this.#ensureQueue(this.name, { policy: 'singleton', notify: true });
    if (this.#ownsBoss) await this.#listen();
    this.#started = true;
  }

  /**
   * Listens on pg-boss's NOTIFY channel on one dedicated connection (pg-boss's `listen`, which
   * re-connects with backoff and checks its subscription with a heartbeat): each job inserted into
   * a run queue, by any instance, wakes one idle worker of that queue here. After a re-connect
   * every worker fetches once, for the jobs whose NOTIFY was missed. Where the database cannot
   * LISTEN (the PGlite adapter) nothing is set up: enqueues there wake a worker in-process, and
   * polling stays the fallback everywhere.
   */
  async #listen(): Promise<void> {
    const db = this.#boss.getDb() as {
      listen?: (
        channel: string,
        onNotification: (payload: string) => void,
        onReconnect: () => void,
      ) => Promise<{ close(): Promise<void> }>;
    };
    if (typeof db.listen !== 'function') return;
    try {
      this.#listener = await db.listen(
        jobNotifyChannel(this.#schema),
        (queue) => void this.#wake(queue),
        () => this.#wakeAll(),
      );
    } catch (error) {
      this.#logger.warn(
        { err: error },
        'could not LISTEN for new runs: workers find them by polling (pollingIntervalSeconds)',
      );
    }
  }

  async #ensureQueue(name: string, options: Parameters<PgBoss['createQueue']>[1]): Promise<void> {
    if (await this.#boss.getQueue(name)) return;
    try {
      await this.#boss.createQueue(name, options);
    } catch (error) {
      // Another instance created it between the check and the create.
      if (!(await this.#boss.getQueue(name))) throw error;
    }
  }

  /**
   * Inserts the first job of one run; its id is the run id. Resolves `true` when inserted,
   * `false` when a job with that id already exists (the same deterministic run enqueued elsewhere).
   */
  async enqueue(
    data: RunJobData,
    scheduling: PipelineScheduling,
    startAfterMs?: number,
  ): Promise<boolean> {
    return (await this.enqueueRun(data, scheduling, startAfterMs)).inserted;
  }

  /**
   * {@link RunQueue.enqueue}, also saying whether the insert woke an idle worker here in-process
   * (where the queue does not LISTEN, e.g. on PGlite): that worker is claiming a job of the
   * pipeline at once, most likely this one.
   */
  async enqueueRun(
    data: RunJobData,
    scheduling: PipelineScheduling,
    startAfterMs?: number,
  ): Promise<{ inserted: boolean; wokeLocalWorker: boolean }> {
    await this.ensurePipelineQueue(data.pipeline);
    return this.#insert(data.runId, data, scheduling, startAfterMs);
  }

  /**
   * Inserts the job of a run's next try after its `counts.failures`-th failure, to start at
   * `startAfterMs`. Its id derives from the run id and the failure count, so a worker that
   * repeats this (it was taken over before its job completed) inserts nothing new.
   */
  async enqueueRetry(
    data: RunJobData,
    scheduling: PipelineScheduling,
    counts: Required<AttemptCounts>,
    startAfterMs: number,
  ): Promise<boolean> {
    const id = deterministicUuid(`sluice:retry:${data.runId}:${counts.failures}`);
    await this.ensurePipelineQueue(data.pipeline);
    return (await this.#insert(id, { ...data, ...counts }, scheduling, startAfterMs)).inserted;
  }

  /** The queue of `pipeline`'s runs ({@link pipelineQueueName}). */
  queueOf(pipeline: string): string {
    return pipelineQueueName(this.name, pipeline);
  }

  /** Creates the queue of `pipeline`'s runs if missing (the singleton policy, like the shared queue). */
  async ensurePipelineQueue(pipeline: string): Promise<string> {
    const name = this.queueOf(pipeline);
    if (this.#queues.has(name)) return name;
    await this.#ensureQueue(name, { policy: 'singleton', notify: true });
    this.#queues.add(name);
    return name;
  }

  async #insert(
    id: string,
    data: RunJobData,
    scheduling: PipelineScheduling,
    startAfterMs: number | undefined,
  ): Promise<{ inserted: boolean; wokeLocalWorker: boolean }> {
    const job: JobInsert<RunJobData> = {
      id,
      data: { ...data, params: nulSafeParams(data.params) },
      singletonKey: runSlotKey(data.pipeline, scheduling.concurrency, data.runId),
      // pg-boss retries are take-overs: at once, whatever the retry policy (which the worker
      // applies to failures). One more than the cap, so the claim past it can fail the run itself.
      retryLimit: this.#maxTakeovers + 1,
      retryDelay: 0,
      retryBackoff: false,
      deadLetter: this.abandonedName,
      // The worker aborts the run at timeoutMs; pg-boss's own expiry is the backstop for a hung handler.
      expireInSeconds: Math.ceil(scheduling.timeoutMs / 1000) + 60,
      heartbeatSeconds: this.#heartbeatSeconds,
      priority: versionPriority(data.pipelineVersion),
      ...(startAfterMs !== undefined && startAfterMs > Date.now()
        ? { startAfter: new Date(startAfterMs) }
        : {}),
    };
    const queue = this.queueOf(data.pipeline);
    const inserted = await this.#insertGrouped(queue, job);
    // With a LISTEN in place the insert's own NOTIFY wakes a worker (here or elsewhere).
    const wokeLocalWorker =
      inserted && job.startAfter === undefined && !this.#listener && this.#wake(queue);
    return { inserted, wokeLocalWorker };
  }

  /**
   * Jobs of one queue enqueued while an insert into it is in flight go together in the next
   * insert ({@link createKeyedGroupCommit}): a burst of triggers costs a few statements, a lone one none more.
   * pg-boss refuses a batch that repeats an id, so a repeat in a group is left out (not inserted).
   */
  readonly #insertGrouped = createKeyedGroupCommit({
    maxInFlight: 1,
    maxItems: 500,
    commit: async (queue: string, jobs: readonly JobInsert<RunJobData>[]): Promise<boolean[]> => {
      const unique = [...new Map(jobs.map((job) => [job.id, job])).values()];
      const ids = new Set((await this.#boss.insert(queue, unique, { returnId: true })) ?? []);
      // Only the first of repeated ids can have been inserted by this group.
      const answered = new Set<string | undefined>();
      return jobs.map((job) => {
        const first = !answered.has(job.id);
        answered.add(job.id);
        return first && ids.has(job.id!);
      });
    },
  });

  /**
   * Wakes one idle worker of `queue` on this instance, so it claims at once instead of at its next
   * poll: for a NOTIFY (PostgreSQL) or an enqueue here (PGlite, which cannot LISTEN). Idle workers
   * take turns, so jobs enqueued together wake different workers rather than the same one; busy
   * workers claim again as soon as their run finishes anyway.
   */
  #wake(queue: string): boolean {
    const slots = [...(this.#workers.get(queue) ?? [])];
    const last = this.#lastWoken.get(queue) ?? -1;
    for (let step = 1; step <= slots.length; step += 1) {
      const index = (last + step) % slots.length;
      const slot = slots[index]!;
      if (slot.busy || slot.id === undefined) continue;
      this.#lastWoken.set(queue, index);
      this.#boss.notifyWorker(slot.id);
      return true;
    }
    return false;
  }

  /** Every worker here fetches once (after the LISTEN connection was re-established). */
  #wakeAll(): void {
    for (const slots of this.#workers.values())
      for (const slot of slots) if (slot.id !== undefined) this.#boss.notifyWorker(slot.id);
  }

  /**
   * Registers `concurrency` local workers on the shared queue, for the jobs an older Sluice
   * enqueued there (new runs go to their pipeline's queue). Returns the workers' ids.
   */
  async work(concurrency: number, handler: (job: RunJob) => Promise<unknown>): Promise<string[]> {
    return this.#work(this.name, concurrency, undefined, handler);
  }

  /**
   * Works `pipeline`'s queue on this instance, replacing an earlier worker of it whose concurrency
   * or version differ (that one finishes the runs it holds). It claims only runs enqueued under
   * `options.version` or an older version (see {@link versionPriority}).
   */
  async workPipeline(
    pipeline: string,
    options: PipelineWorkOptions,
    handler: (job: RunJob) => Promise<unknown>,
  ): Promise<void> {
    const version = typeof options.version === 'number' ? options.version : undefined;
    const existing = this.#pipelineWorkers.get(pipeline);
    const batchSize =
      options.concurrency >= (options.keys ?? options.concurrency) ? options.concurrency : 1;
    if (
      existing &&
      existing.concurrency === options.concurrency &&
      existing.batchSize === batchSize &&
      existing.version === version
    )
      return;
    const queue = await this.ensurePipelineQueue(pipeline);
    const ids = await this.#work(
      queue,
      options.concurrency,
      version === undefined ? undefined : versionPriority(version),
      handler,
      batchSize,
    );
    this.#pipelineWorkers.set(pipeline, {
      ids,
      concurrency: options.concurrency,
      batchSize,
      version,
    });
    // The new workers first, so the pipeline is never unworked; the old ones stop fetching and
    // finish what they hold in the background.
    if (existing) await this.#offWork(queue, existing.ids);
  }

  /** Stops working `pipeline`'s queue here (runs in progress finish); another instance that has it claims its runs. */
  async offWorkPipeline(pipeline: string): Promise<void> {
    const existing = this.#pipelineWorkers.get(pipeline);
    if (!existing) return;
    this.#pipelineWorkers.delete(pipeline);
    await this.#offWork(this.queueOf(pipeline), existing.ids);
  }

  async #offWork(queue: string, ids: readonly string[]): Promise<void> {
    const slots = this.#workers.get(queue);
    for (const slot of [...(slots ?? [])])
      if (slot.id && ids.includes(slot.id)) slots!.delete(slot);
    for (const id of ids) await this.#boss.offWork(queue, { id, wait: false });
  }

  /** The pipelines whose queues this instance works. */
  workedPipelines(): string[] {
    return [...this.#pipelineWorkers.keys()];
  }

  /**
   * Starts `concurrency` pg-boss workers on `queue` and returns their ids. Each claims up to
   * `batchSize` jobs a fetch (see {@link PipelineWorkOptions.keys}) and executes them at once; a
   * job of a batch is completed as soon as its run ends, together with the other jobs that ended
   * meanwhile ({@link #completeGrouped}), so a long run holds its own slot only, and a freed slot
   * is claimed by another idle worker. A worker whose batch finished claims again at once, so
   * while runs are queued none waits for a poll; a worker that found nothing polls at
   * `pollingIntervalSeconds` until a NOTIFY (PostgreSQL) or an enqueue here ({@link #wake}) wakes it.
   */
  async #work(
    queue: string,
    concurrency: number,
    minPriority: number | undefined,
    handler: (job: RunJob) => Promise<unknown>,
    batchSize = 1,
  ): Promise<string[]> {
    let slots = this.#workers.get(queue);
    if (!slots) this.#workers.set(queue, (slots = new Set()));
    const ids: string[] = [];
    for (let i = 0; i < Math.max(1, concurrency); i += 1) {
      const slot: WorkerSlot = { id: undefined, busy: false };
      slot.id = await this.#boss.work<RunJobData>(
        queue,
        {
          ...(minPriority === undefined ? {} : { minPriority }),
          localConcurrency: 1,
          batchSize,
          pollingIntervalSeconds: this.#pollingIntervalSeconds,
          // NOTIFY only announces new jobs; a run that waited for its pipeline's previous run, or a
          // retry whose backoff elapsed, is found by polling, so polling stays at its normal pace.
          notifyPollingIntervalSeconds: this.#pollingIntervalSeconds,
          // Refresh often: a cancelled job's claim disappears, and the refresh is what notices.
          heartbeatRefreshSeconds: Math.min(5, Math.max(1, Math.floor(this.#heartbeatSeconds / 3))),
        },
        async (jobs) => {
          slot.busy = true;
          const run = (job: (typeof jobs)[number]) =>
            handler({ ...job, data: { ...job.data, params: restoreParams(job.data.params) } });
          try {
            // A single job is settled by pg-boss with the handler's result, as always.
            if (jobs.length === 1) return await run(jobs[0]!);
            // A batch: each job settled when its own run ends, but those that end last together:
            // pg-boss completes the batch afterwards, fenced to this claim, so it changes only those
            // (and any whose grouped completion failed).
            // A completion that fails is left to that batch completion; a job whose fail() failed
            // makes the batch throw, so pg-boss fails what is still unsettled instead.
            let unsettled = jobs.length;
            const settled = await Promise.allSettled(
              jobs.map(async (job) => {
                const claim = { id: job.id, retryCount: job.retryCount };
                try {
                  await run(job);
                } catch (error) {
                  unsettled -= 1;
                  // No outcome (see runJob): pg-boss retries the job at once, a take-over.
                  await this.#boss.fail(queue, [claim], error as object);
                  return;
                }
                unsettled -= 1;
                // Jobs still running beside it: complete it now, so its slot is free for another
                // run. Past the end of this turn, so that when the batch's runs all ended together
                // (their outcomes recorded in one statement) none is: pg-boss's completion of the
                // batch is theirs, one statement.
                await new Promise((resolve) => setImmediate(resolve));
                if (unsettled === 0) return;
                await this.#completeGrouped(queue, claim).then(
                  // Its slot is free while this worker still waits for the rest of its batch: an
                  // idle worker claims the pipeline's next run now, not at its next poll.
                  () => void this.#wake(queue),
                  (error: unknown) =>
                    this.#logger.debug({ err: error, jobId: job.id }, 'completing a job failed'),
                );
              }),
            );
            const failed = settled.find((result) => result.status === 'rejected');
            if (failed) throw failed.reason;
            return undefined;
          } finally {
            slot.busy = false;
            // Claim the next queued run right after this one completes, not at the next poll.
            if (slot.id !== undefined) this.#boss.notifyWorker(slot.id);
          }
        },
      );
      slots.add(slot);
      ids.push(slot.id);
    }
    return ids;
  }

  /**
   * Completes jobs of a batch whose runs ended, those that ended together in one statement
   * ({@link createKeyedGroupCommit}); fenced to the claim, so a job taken over meanwhile is left alone.
   */
  readonly #completeGrouped = createKeyedGroupCommit({
    maxInFlight: 1,
    maxItems: 500,
    commit: async (
      queue: string,
      claims: readonly { id: string; retryCount: number }[],
    ): Promise<undefined[]> => {
      await this.#boss.complete(queue, [...claims]);
      return claims.map(() => undefined);
    },
  });

  /** Registers one local worker for the jobs pg-boss failed for good. */
  async workAbandoned(handler: (job: AbandonedRunJob) => Promise<unknown>): Promise<string> {
    const options = {
      batchSize: 1,
      includeMetadata: true,
      pollingIntervalSeconds: Math.max(this.#pollingIntervalSeconds, 2),
    } as const;
    return this.#boss.work<RunJobData, unknown, typeof options>(
      this.abandonedName,
      options,
      async (jobs: AbandonedRunJob[]) => {
        for (const job of jobs)
          await handler({ ...job, data: { ...job.data, params: restoreParams(job.data.params) } });
      },
    );
  }

  /** Cancels a queued (or active) job of `pipeline` (or of the shared queue, where older Sluice versions put it). */
  async cancel(runId: string, pipeline?: string): Promise<void> {
    const queue = pipeline === undefined ? undefined : this.queueOf(pipeline);
    if (queue !== undefined && (this.#queues.has(queue) || (await this.#boss.getQueue(queue))))
      await this.#boss.cancel(queue, runId);
    await this.#boss.cancel(this.name, runId);
  }

  /**
   * Jobs of the pipeline queues that wait for nothing but a worker: queued (new, or to be taken
   * over), their start time passed, and no run of their pipeline executing anywhere (so neither a
   * busy slot nor a busy worker of the pipeline delays them). pg-boss has no call for this; it is
   * the condition of pg-boss's own claim query without the priority filter, and stricter about
   * active jobs.
   */
  async claimableJobs(limit = 1000): Promise<ClaimableJob[]> {
    const schema = quoteIdentifier(this.#schema);
    const result = await this.#sql(
      `SELECT j.id::text AS id, j.name AS queue, j.data AS data
         FROM ${schema}.job j
        WHERE left(j.name, length($1::text)) = $1::text
          AND j.state < 'active'
          AND NOT j.blocked
          AND j.start_after <= ${schema}.job_now()
          AND NOT EXISTS (SELECT 1 FROM ${schema}.job a WHERE a.name = j.name AND a.state = 'active')
        ORDER BY j.created_on
        LIMIT ${Math.max(1, Math.floor(limit))}`,
      [`${this.name}/`],
    );
    return (result.rows as { id: string; queue: string; data: RunJobData }[]).map((row) => ({
      id: row.id,
      queue: row.queue,
      data: { ...row.data, params: restoreParams(row.data.params) },
    }));
  }

  /** One statement on pg-boss's own connection (PostgreSQL pool or the store's PGlite adapter). */
  async #sql(text: string, values: unknown[]): Promise<{ rows: unknown[] }> {
    const result = await this.#boss.getDb().executeSql(text, values);
    return { rows: (result as { rows?: unknown[] } | undefined)?.rows ?? [] };
  }

  /**
   * Cancels a job only while it is still queued, in one statement, so a worker that claims it at
   * the same moment keeps it. True when this call cancelled it.
   */
  async cancelIfQueued(queue: string, jobId: string): Promise<boolean> {
    const schema = quoteIdentifier(this.#schema);
    const result = await this.#sql(
      `UPDATE ${schema}.job SET state = 'cancelled', completed_on = ${schema}.job_now()
        WHERE name = $1 AND id = $2::uuid AND state < 'active'
        RETURNING id`,
      [queue, jobId],
    );
    return result.rows.length > 0;
  }

  /** Stops the workers; waits up to `timeoutMs` for running handlers, then stops pg-boss when owned. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    const listener = this.#listener;
    this.#listener = undefined;
    await listener
      ?.close()
      .catch((error: unknown) => this.#logger.debug({ err: error }, 'closing the LISTEN failed'));
    if (this.#ownsBoss) {
      await this.#boss.stop({ graceful: true, timeout: timeoutMs, close: true });
    } else {
      await this.#boss.offWork(this.name, { wait: true });
      for (const pipeline of this.#pipelineWorkers.keys())
        await this.#boss.offWork(this.queueOf(pipeline), { wait: true });
      await this.#boss.offWork(this.abandonedName, { wait: true });
    }
    this.#pipelineWorkers.clear();
    this.#workers.clear();
    this.#lastWoken.clear();
  }
}

/** One pg-boss worker of a run queue on this instance: its id, and whether it holds a run. */
interface WorkerSlot {
  id: string | undefined;
  busy: boolean;
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
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
  return text.includes('\\u0000') || text.includes(NUL_SAFE_KEY)
    ? { [NUL_SAFE_KEY]: text }
    : params;
}

/** The parameters {@link nulSafeParams} wrapped, as they were given. */
export function restoreParams(params: JsonObject): JsonObject {
  const text = params?.[NUL_SAFE_KEY];
  return typeof text === 'string' && Object.keys(params).length === 1
    ? (JSON.parse(text) as JsonObject)
    : params;
}
