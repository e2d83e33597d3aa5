/**
 * The scheduler: triggers (cron, webhook, API, backfill) on one side, the run queue and its
 * workers on the other. Every trigger goes through {@link Scheduler.enqueue}.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import {
  ConfigError,
  childLogger,
  createNoopLogger,
  type JsonObject,
  type Logger,
  type NewRun,
  type RunRecord,
} from '@sluice/core';
import { failAbandonedRun } from './abandoned-runs.js';
import {
  BacklogFullError,
  QueuedRunsGauge,
  backlogFullMessage,
  type RefusedTrigger,
  type TriggerRefusal,
} from './backlog.js';
import { DEFAULT_MAX_TAKEOVERS, MAX_TAKEOVERS_LIMIT } from './attempts.js';
import {
  backfillId,
  chunkRunId,
  latestChunkRun,
  splitDateRange,
  type BackfillResult,
  type BackfillSpec,
} from './backfill.js';
import {
  MAX_QUEUED_RUNS_LIMIT,
  SCHEDULING_DEFAULTS,
  isPipelineScheduling,
  parsePipelineScheduling,
  type PipelineScheduling,
  type PipelineSchedulingInput,
} from './config.js';
import { CronRunner } from './cron/cron-runner.js';
import { tickJitterMs } from './cron/schedule.js';
import { cronRunId, deterministicUuid } from './ids.js';
import type { JobQueueInstance, JobQueueOptions } from './job-queue-types.js';
import { groupedRunWrites } from './grouped-run-writes.js';
import { RunQueue, type RunJob, type RunJobData } from './run-queue.js';
import { newRunOf, runJob } from './run-worker.js';
import {
  DEFAULT_UNCLAIMED_RUN_TIMEOUT_SECONDS,
  UNCLAIMED_RUN_TIMEOUT_LIMITS,
  UnclaimedRunSweeper,
} from './unclaimed-runs.js';
import type { EnqueuedRun, ExecuteRun, RunRequest, SchedulerStores } from './types.js';
import {
  createWebhookInbox,
  withInboxFollowUp,
  type InboxAcceptResponse,
} from './webhooks/inbox.js';
import { parseWebhookBody, payloadRecords } from './webhooks/payload.js';
import { reject, type WebhookHeaders, type WebhookVerification } from './webhooks/types.js';
import { verifyWebhook } from './webhooks/verify.js';

/**
 * How long an enqueue that woke a worker of this instance waits for that worker to record the run
 * running before it writes the record itself (the worker may be claiming an older run instead).
 */
const LOCAL_CLAIM_WAIT_MS = 50;

/** Options of {@link createScheduler}. */
export interface SchedulerOptions {
  /** Scheduling options of every pipeline (validated with {@link parsePipelineScheduling}). */
  pipelines: readonly (PipelineSchedulingInput | PipelineScheduling)[];
  stores: SchedulerStores;
  /** pg-boss constructor options (e.g. `{ ...store.pgBossDb(), schema: 'sluice_jobs' }`) or an instance you own. */
  boss: JobQueueOptions | JobQueueInstance;
  /** Runs one pipeline run; see {@link ExecuteRun}. */
  execute: ExecuteRun;
  /**
   * Where the scheduler logs. Its own lines bind `component: 'scheduler'`; each run's logger
   * (the `log` of {@link ExecuteRun}) binds `runId`, `pipeline` and `runAttempt` on this logger,
   * so what runs under it adds its own `component` without a key appearing twice.
   */
  logger?: Logger;
  /** pg-boss queue name. Default `sluice-runs`. */
  queueName?: string;
  /**
   * Runs of one pipeline executing at once on this instance (each pipeline has a queue and a
   * worker of its own; a pipeline's `concurrency` caps it across every instance). Default 4.
   */
  concurrency?: number;
  /** Claim and execute runs on this instance. Default true (false: trigger-only, e.g. an API node). */
  worker?: boolean;
  /** Fire cron ticks on this instance. Default true. */
  cron?: boolean;
  /**
   * A crashed worker's run is taken over after this many seconds without a heartbeat (>= 10).
   * Default 30. It is stored on each job, so the instance that enqueues a run decides it.
   */
  heartbeatSeconds?: number;
  /**
   * How many times a run is taken over by another worker after its worker stopped or died
   * mid-run, whatever the pipeline's retry policy (which counts failures only). The claim past
   * this fails the run with a `RunTakeoverLimitError`, so a run that crashes its worker every
   * time cannot loop forever. A whole number from 0 to 100; default 10. Set on the instances that
   * enqueue (it is stored on each job) and on the workers (they enforce it).
   */
  maxTakeovers?: number;
  /** Worker poll interval in seconds when no notification arrives (>= 0.5). Default 2. */
  pollingIntervalSeconds?: number;
  /** How often a running run checks the store for a cancellation request. Default 1000 ms. */
  cancelCheckMs?: number;
  /** {@link Scheduler.stop} waits this long for running runs before abandoning them to a retry. Default 30 000 ms. */
  shutdownTimeoutMs?: number;
  /** Cron ticks older than this at start-up are "missed". Default 2000 ms. */
  cronStartupGraceMs?: number;
  /**
   * The pipeline version to record on runs whose trigger did not name one (cron ticks, webhooks,
   * backfill chunks), so every run says which configuration it used.
   */
  pipelineVersion?: (pipeline: string) => number | null | undefined;
  /**
   * A run that could start (its start time passed, no run of its pipeline executing anywhere)
   * but that no instance able to execute it claims for this many seconds fails with a
   * `RunUnclaimedError` naming its pipeline and version: during a rolling deploy no replica has
   * its pipeline, or none has the version it was enqueued under or a later one. From 10 to
   * 604 800 (7 days); default 600. Enforced by every instance with `worker` on.
   */
  unclaimedRunTimeoutSeconds?: number;
  /**
   * Back-pressure: runs of one pipeline in status `queued` before its webhook deliveries and API
   * triggers are refused ({@link BacklogFullError}, a webhook answer 429); a pipeline's own
   * `maxQueuedRuns` overrides it. An instance counts the store at most once a second per
   * pipeline while its estimate (that count plus the runs it enqueued since) is under the bound,
   * and counts again before refusing, so a refusal always follows a fresh count; the backlog can
   * pass the bound by the triggers in flight at once and what other instances enqueued since the
   * last count.
   * Cron ticks, backfill chunks and replays are never refused. From 1 to 1 000 000; default 1000.
   */
  maxQueuedRuns?: number;
  /** The `Retry-After` of a refusal past `maxQueuedRuns`, in seconds. Default 30. */
  backlogRetryAfterSeconds?: number;
  /** Called for each trigger refused past `maxQueuedRuns` (the server counts them in a metric). */
  onTriggerRefused?: (refusal: TriggerRefusal) => void;
  /** Called after each cron tick this instance fired; `created` is false when another instance had already enqueued it. */
  onCronFire?: (event: {
    pipeline: string;
    schedule: string;
    tick: string;
    runId: string;
    created: boolean;
  }) => void;
}

/** What became of one run that was executing when {@link Scheduler.stop} was called. */
export type StopOutcome =
  'succeeded' | 'failed' | 'cancelled' | 'handed-back' | 'retrying' | 'unfinished';

/**
 * What {@link Scheduler.stop} did with the runs executing on this instance when it was called:
 * `finished` reached an outcome (succeeded, failed or cancelled) within the grace period;
 * `requeued` go on elsewhere: handed back to the queue for another worker (`handed-back`), a
 * retry enqueued after a failure (`retrying`), or still running when the grace period ended
 * (`unfinished`: taken over once its heartbeat lapses).
 */
export interface StopReport {
  finished: number;
  requeued: number;
  runs: { runId: string; pipeline: string; outcome: StopOutcome }[];
}

/** The stop-report outcome of what `runJob` returned (`undefined`: the job did not execute a run). */
function outcomeOf(result: unknown): StopOutcome | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  if ('counts' in result) return 'succeeded';
  if ('failed' in result) return 'failed';
  if ('cancelled' in result) return 'cancelled';
  if ('retrying' in result) return 'retrying';
  return undefined;
}

/** An inbound webhook call, as the HTTP layer received it. */
export interface InboundWebhook {
  headers: WebhookHeaders;
  rawBody: Buffer;
  method?: string;
  /** The full URL the sender called; HubSpot v3 signs it. */
  url?: string;
  /** Default now. */
  now?: number;
}

/**
 * The answer to an inbound webhook: the HTTP status and a JSON body. 202: a run was queued. 200:
 * a copy of a delivery already accepted (a sender's retry or a replay): no new run, `runId` is
 * the run of the first copy. Standard Webhooks senders retry on any non-2xx, so a duplicate is a
 * success for them, and an attacker replaying a capture learns nothing but that run id.
 */
export type WebhookResponse =
  | { status: 202; body: { runId: string; deliveryId: string } }
  | { status: 200; body: { runId: string; deliveryId: string; duplicate: true } }
  | { status: 429; body: { error: string; reason: 'backlog-full'; retryAfterSeconds: number } }
  | InboxAcceptResponse
  | { status: number; body: { error: string; reason: string } };

/**
 * A running scheduler.
 *
 * @example
 * ```ts
 * const scheduler = createScheduler({ pipelines, stores: store, boss: store.pgBossDb(), execute });
 * await scheduler.start();
 * const { runId } = await scheduler.trigger('daily', { params: { date: '2026-11-24' } });
 * await scheduler.stop();
 * ```
 */
export interface Scheduler {
  /** Starts pg-boss, the workers and the cron timers. */
  start(): Promise<void>;
  /**
   * Stops cron timers, lets running runs finish (up to `shutdownTimeoutMs`), stops pg-boss, and
   * reports what became of the runs that were executing here when it was called.
   */
  stop(): Promise<StopReport>;
  /**
   * Enqueues a run of `pipeline` from the API.
   *
   * @throws BacklogFullError for an `api` or `cli` trigger when the pipeline's queued runs reached
   * `maxQueuedRuns` (nothing was enqueued); `replay` triggers are not bounded.
   */
  trigger(
    pipeline: string,
    options?: {
      params?: JsonObject;
      runId?: string;
      startAfterMs?: number;
      trigger?: 'api' | 'cli' | 'replay';
      parentRunId?: string;
      pipelineVersion?: number | null;
    },
  ): Promise<EnqueuedRun>;
  /** The one path every trigger takes: insert the job (idempotent per run id), then the run record. */
  enqueue(request: RunRequest): Promise<EnqueuedRun>;
  /** Verifies, de-duplicates and enqueues an inbound webhook for `pipeline`. Never throws for bad input. */
  handleWebhook(pipeline: string, request: InboundWebhook): Promise<WebhookResponse>;
  /** Starts or resumes a backfill: one run per chunk of the date range. */
  backfill(pipeline: string, spec: BackfillSpec): Promise<BackfillResult>;
  /** Requests cancellation: a queued run is cancelled at once, a running one stops at its next check. */
  cancel(runId: string): Promise<RunRecord | undefined>;
  /** Replaces the pipelines' scheduling options (restarts the cron timers). */
  setPipelines(pipelines: readonly (PipelineSchedulingInput | PipelineScheduling)[]): Promise<void>;
  /** The scheduling options of a pipeline, if configured. */
  pipeline(name: string): PipelineScheduling | undefined;
  /** The underlying queue (for metrics and tests). */
  readonly queue: RunQueue;
}

function resolve(
  list: readonly (PipelineSchedulingInput | PipelineScheduling)[],
): Map<string, PipelineScheduling> {
  const map = new Map<string, PipelineScheduling>();
  list.forEach((item, index) => {
    // Problems are named by the pipeline (`pipelines.daily.cron.expression`), never by its index.
    const named =
      typeof (item as { name?: unknown }).name === 'string'
        ? (item as { name: string }).name
        : index;
    const resolved = isResolved(item) ? item : parsePipelineScheduling(item, ['pipelines', named]);
    if (map.has(resolved.name)) {
      throw new ConfigError([
        {
          path: `pipelines[${index}].name`,
          message: `duplicate pipeline ${JSON.stringify(resolved.name)}`,
        },
      ]);
    }
    map.set(resolved.name, resolved);
  });
  return map;
}

function isResolved(
  item: PipelineSchedulingInput | PipelineScheduling,
): item is PipelineScheduling {
  return isPipelineScheduling(item);
}

/**
 * Creates a scheduler. Several instances may share one database: each fires every cron tick,
 * and the deterministic run id of a tick makes only one of them create the run.
 *
 * @throws ConfigError when a pipeline's scheduling options are invalid.
 * @example
 * ```ts
 * import { createScheduler } from '@sluice/scheduler';
 *
 * const scheduler = createScheduler({
 *   pipelines: [{ name: 'daily', cron: { expression: '0 0 8 * * *', timezone: 'Europe/Berlin', missed: 'catch-up' } }],
 *   stores: { runs: store.runs, scheduleState: store.scheduleState, webhookDeliveries: store.webhookDeliveries },
 *   boss: { ...store.pgBossDb(), schema: 'sluice_jobs' },
 *   execute: async (run, { signal }) => ({ counts: await runDaily(run, signal) }),
 * });
 * await scheduler.start();
 * ```
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const base = options.logger ?? createNoopLogger();
  const logger = childLogger(base, { component: 'scheduler' });
  const { runs, scheduleState, webhookDeliveries } = options.stores;
  let pipelines = resolve(options.pipelines);
  const maxTakeovers = options.maxTakeovers ?? DEFAULT_MAX_TAKEOVERS;
  if (!Number.isInteger(maxTakeovers) || maxTakeovers < 0 || maxTakeovers > MAX_TAKEOVERS_LIMIT) {
    throw new ConfigError([
      {
        path: 'maxTakeovers',
        message: `expected a whole number from 0 to ${String(MAX_TAKEOVERS_LIMIT)}, got ${String(maxTakeovers)}`,
      },
    ]);
  }
  const unclaimedRunTimeoutSeconds =
    options.unclaimedRunTimeoutSeconds ?? DEFAULT_UNCLAIMED_RUN_TIMEOUT_SECONDS;
  const { min: minUnclaimed, max: maxUnclaimed } = UNCLAIMED_RUN_TIMEOUT_LIMITS;
  if (
    !Number.isInteger(unclaimedRunTimeoutSeconds) ||
    unclaimedRunTimeoutSeconds < minUnclaimed ||
    unclaimedRunTimeoutSeconds > maxUnclaimed
  ) {
    throw new ConfigError([
      {
        path: 'unclaimedRunTimeoutSeconds',
        message: `expected a whole number of seconds from ${String(minUnclaimed)} to ${String(maxUnclaimed)}, got ${String(unclaimedRunTimeoutSeconds)}`,
      },
    ]);
  }
  const queue = new RunQueue({
    boss: options.boss,
    logger,
    maxTakeovers,
    ...(options.queueName === undefined ? {} : { queueName: options.queueName }),
    ...(options.heartbeatSeconds === undefined
      ? {}
      : { heartbeatSeconds: options.heartbeatSeconds }),
    ...(options.pollingIntervalSeconds === undefined
      ? {}
      : { pollingIntervalSeconds: options.pollingIntervalSeconds }),
  });
  const active = new Map<string, () => void>();
  // Jobs being handled here (run id → pipeline); while stopping, the outcomes of those stop() waits for.
  const handling = new Map<string, string>();
  let stopOutcomes: Map<string, StopReport['runs'][number]> | undefined;
  const noteOutcome = (runId: string, outcome: StopOutcome | undefined) => {
    const entry = stopOutcomes?.get(runId);
    if (!entry) return;
    if (outcome === undefined) stopOutcomes!.delete(runId);
    else entry.outcome = outcome;
  };
  const shutdown = new AbortController();
  let stopping = false;
  let started = false;

  const requirePipeline = (name: string): PipelineScheduling => {
    const found = pipelines.get(name);
    if (!found)
      throw new ConfigError([
        { path: 'pipeline', message: `unknown pipeline ${JSON.stringify(name)}` },
      ]);
    return found;
  };

  const defaultMaxQueued = options.maxQueuedRuns ?? SCHEDULING_DEFAULTS.maxQueuedRuns;
  if (
    !Number.isInteger(defaultMaxQueued) ||
    defaultMaxQueued < 1 ||
    defaultMaxQueued > MAX_QUEUED_RUNS_LIMIT
  ) {
    throw new ConfigError([
      {
        path: 'maxQueuedRuns',
        message: `expected a whole number from 1 to ${MAX_QUEUED_RUNS_LIMIT}, got ${String(defaultMaxQueued)}`,
      },
    ]);
  }
  const backlogRetryAfterSeconds = Math.max(
    1,
    Math.ceil(options.backlogRetryAfterSeconds ?? SCHEDULING_DEFAULTS.backlogRetryAfterSeconds),
  );
  // Counted in the store at most once a second per pipeline while well under the bound, and
  // before every refusal (see QueuedRunsGauge).
  const queuedRuns = new QueuedRunsGauge((pipeline) => runs.countQueued(pipeline));
  // Runs triggered or claimed at the same moment share their record's statements.
  const runWrites = groupedRunWrites(runs);
  // Runs enqueued here whose record waits for a worker of this instance to mark them running:
  // the record as the trigger gave it (its params' key order, which the job's jsonb does not keep).
  const awaitingLocalClaim = new Map<
    string,
    { record: NewRun & { id: string }; claimed: () => void }
  >();
  const markRunning: typeof runWrites.markRunning = async (id, markOptions) => {
    const waiting = awaitingLocalClaim.get(id);
    const run = await runWrites.markRunning(
      id,
      waiting && markOptions?.ifMissing
        ? { ...markOptions, ifMissing: waiting.record }
        : markOptions,
    );
    if (run) waiting?.claimed();
    return run;
  };
  /** True once a worker here recorded the run running, false after LOCAL_CLAIM_WAIT_MS without. */
  const claimedHere = (record: NewRun & { id: string }) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        awaitingLocalClaim.delete(record.id);
        resolve(false);
      }, LOCAL_CLAIM_WAIT_MS);
      awaitingLocalClaim.set(record.id, {
        record,
        claimed: () => {
          clearTimeout(timer);
          awaitingLocalClaim.delete(record.id);
          resolve(true);
        },
      });
    });
  /** The refusal of a trigger of `scheduling` when its queued runs reached the bound; undefined: room. */
  const backlogRefusal = async (
    scheduling: PipelineScheduling,
    trigger: RefusedTrigger,
  ): Promise<TriggerRefusal | undefined> => {
    const max = scheduling.maxQueuedRuns ?? defaultMaxQueued;
    const { queued, room } = await queuedRuns.check(scheduling.name, max);
    if (room) return undefined;
    const refusal: TriggerRefusal = {
      pipeline: scheduling.name,
      trigger,
      reason: 'backlog-full',
      queued,
      maxQueuedRuns: max,
      retryAfterSeconds: backlogRetryAfterSeconds,
    };
    logger.warn(
      { pipeline: scheduling.name, trigger, queued, maxQueuedRuns: max },
      "trigger refused: the pipeline's queued runs reached maxQueuedRuns",
    );
    options.onTriggerRefused?.(refusal);
    return refusal;
  };

  const enqueue = async (request: RunRequest): Promise<EnqueuedRun> => {
    const scheduling = requirePipeline(request.pipeline);
    const data: RunJobData = {
      runId: request.runId ?? randomUUID(),
      pipeline: request.pipeline,
      trigger: request.trigger,
      params: request.params ?? {},
      queuedAt: new Date().toISOString(),
      ...(request.parentRunId === undefined ? {} : { parentRunId: request.parentRunId }),
    };
    const version =
      request.pipelineVersion !== undefined
        ? request.pipelineVersion
        : options.pipelineVersion?.(request.pipeline);
    if (version !== undefined) data.pipelineVersion = version;
    // The job first: it is what makes the run happen. A crash before the record is written is
    // repaired by the worker, which creates the record from the job's data. The record is written
    // without reading it first (one INSERT ... ON CONFLICT DO NOTHING): a worker that claimed the
    // job at once may have created it already, and then it is left as the worker wrote it.
    const { inserted: created, wokeLocalWorker } = await queue.enqueueRun(
      data,
      scheduling,
      request.startAfterMs,
    );
    if (created) {
      queuedRuns.noteEnqueued(request.pipeline);
      // A worker woken here in-process (PGlite: one connection, statements one after another)
      // usually claims the run at once, and its `running` mark creates the record: the record
      // insert waits for that, briefly, instead of standing between the claim and the start.
      const record = newRunOf(data);
      if (!(wokeLocalWorker && (await claimedHere(record)))) await runWrites.createIfAbsent(record);
    }
    return { runId: data.runId, created };
  };

  const cron = new CronRunner({
    scheduleState,
    logger,
    ...(options.cronStartupGraceMs === undefined
      ? {}
      : { startupGraceMs: options.cronStartupGraceMs }),
    fire: async (pipeline, trigger, tickMs) => {
      const runId = cronRunId(pipeline.name, tickMs);
      const { created } = await enqueue({
        pipeline: pipeline.name,
        trigger: 'cron',
        runId,
        params: { schedule: trigger.name, tick: new Date(tickMs).toISOString() },
        startAfterMs: tickMs + tickJitterMs(pipeline.name, tickMs, trigger.jitterMs),
      });
      const tick = new Date(tickMs).toISOString();
      logger.debug({ pipeline: pipeline.name, tick, created }, 'cron tick');
      options.onCronFire?.({
        pipeline: pipeline.name,
        schedule: trigger.name,
        tick,
        runId,
        created,
      });
    },
  });

  // Webhook inbox (`delivery: inbox`): accepts into the store, coalesces drain runs.
  const webhookInbox = createWebhookInbox({
    inbox: options.stores.webhookInbox,
    runs,
    enqueue: (request) => enqueue(request),
    pipeline: (name) => pipelines.get(name),
    logger,
    retryAfterSeconds: backlogRetryAfterSeconds,
    ...(options.onTriggerRefused ? { onRefused: options.onTriggerRefused } : {}),
  });
  const execute = withInboxFollowUp(
    options.execute,
    webhookInbox,
    options.stores.webhookInbox,
    logger,
  );

  const concurrency = Math.max(1, options.concurrency ?? 4);
  const handle = async (job: RunJob): Promise<unknown> => {
    // A pipeline queue's worker stops fetching when its pipeline leaves this instance's
    // configuration; a job it claimed just before goes straight back to the queue, unexecuted,
    // for an instance that has the pipeline (the shared queue's jobs keep the old rule: failed).
    if (job.name !== queue.name && !pipelines.has(job.data.pipeline)) {
      throw new Error(
        `pipeline ${JSON.stringify(job.data.pipeline)} left this instance's configuration: the run goes back to its queue`,
      );
    }
    handling.set(job.data.runId, job.data.pipeline);
    try {
      const result = await runJob(job, {
        runs,
        markRunning,
        markFinished: runWrites.markFinished,
        execute,
        logger,
        runLogger: base,
        pipeline: (name) => pipelines.get(name),
        cancelCheckMs: options.cancelCheckMs ?? 1000,
        shutdown: shutdown.signal,
        isStopping: () => stopping,
        active,
        maxTakeovers,
        retryLater: (data, scheduling, counts, startAfterMs) =>
          queue.enqueueRetry(data, scheduling, counts, startAfterMs),
      });
      noteOutcome(job.data.runId, outcomeOf(result));
      return result;
    } catch (error) {
      // runJob throws only when the attempt has no outcome: pg-boss hands the job to another worker.
      noteOutcome(job.data.runId, 'handed-back');
      throw error;
    } finally {
      handling.delete(job.data.runId);
    }
  };

  // One worker per pipeline this instance has, at its version of the pipeline: it claims nothing
  // else (docs/scheduler/delivery-and-scaling.md, "Rolling configuration changes").
  const syncWorkers = async () => {
    for (const name of queue.workedPipelines())
      if (!pipelines.has(name)) await queue.offWorkPipeline(name);
    for (const scheduling of pipelines.values()) {
      const version = options.pipelineVersion?.(scheduling.name);
      await queue.workPipeline(
        scheduling.name,
        {
          concurrency: Math.min(concurrency, scheduling.concurrency),
          keys: scheduling.concurrency,
          version,
        },
        handle,
      );
    }
  };
  const sweeper = new UnclaimedRunSweeper({
    queue,
    runs,
    logger,
    timeoutSeconds: unclaimedRunTimeoutSeconds,
  });

  const scheduler: Scheduler = {
    queue,
    pipeline: (name) => pipelines.get(name),

    async start() {
      if (started) return;
      await queue.start();
      if (options.worker !== false) {
        // The shared queue holds only jobs an older Sluice enqueued: one worker drains them, so an
        // idle instance does not poll it `concurrency` times per interval.
        await queue.work(1, handle);
        await syncWorkers();
        await queue.workAbandoned((job) => failAbandonedRun(job, { runs, logger }));
        sweeper.start();
      }
      if (options.cron !== false) await cron.start([...pipelines.values()]);
      // What a stopped or killed instance accepted into a webhook inbox is drained now.
      await webhookInbox
        .resume()
        .catch((error: unknown) =>
          logger.error({ err: error }, 'could not resume draining the webhook inboxes'),
        );
      started = true;
    },

    async stop() {
      if (!started || stopping) return { finished: 0, requeued: 0, runs: [] };
      stopping = true;
      const outcomes = new Map(
        [...handling].map(([runId, pipeline]) => [
          runId,
          { runId, pipeline, outcome: 'unfinished' as StopOutcome },
        ]),
      );
      stopOutcomes = outcomes;
      await cron.stop();
      await sweeper.stop();
      const grace = options.shutdownTimeoutMs ?? 30_000;
      const force = setTimeout(
        () => shutdown.abort(new Error('shutdown grace period over')),
        grace,
      );
      try {
        await queue.stop(grace);
      } finally {
        clearTimeout(force);
        started = false;
      }
      const runs = [...outcomes.values()];
      const finished = runs.filter(
        (r) => r.outcome === 'succeeded' || r.outcome === 'failed' || r.outcome === 'cancelled',
      ).length;
      return { finished, requeued: runs.length - finished, runs };
    },

    async trigger(pipeline, triggerOptions = {}) {
      const trigger = triggerOptions.trigger ?? 'api';
      if (trigger === 'api' || trigger === 'cli') {
        const refusal = await backlogRefusal(requirePipeline(pipeline), trigger);
        if (refusal) throw new BacklogFullError(refusal);
      }
      return enqueue({
        pipeline,
        trigger: triggerOptions.trigger ?? 'api',
        ...(triggerOptions.params === undefined ? {} : { params: triggerOptions.params }),
        ...(triggerOptions.runId === undefined ? {} : { runId: triggerOptions.runId }),
        ...(triggerOptions.startAfterMs === undefined
          ? {}
          : { startAfterMs: triggerOptions.startAfterMs }),
        ...(triggerOptions.parentRunId === undefined
          ? {}
          : { parentRunId: triggerOptions.parentRunId }),
        ...(triggerOptions.pipelineVersion === undefined
          ? {}
          : { pipelineVersion: triggerOptions.pipelineVersion }),
      });
    },

    enqueue,

    async handleWebhook(pipelineName, request) {
      const fail = (result: Extract<WebhookVerification, { ok: false }>): WebhookResponse => ({
        status: result.status,
        body: { error: result.message, reason: result.reason },
      });
      const scheduling = pipelines.get(pipelineName);
      if (!scheduling?.webhook) {
        return {
          status: 404,
          body: {
            error: `pipeline ${JSON.stringify(pipelineName)} has no webhook trigger`,
            reason: 'not-found',
          },
        };
      }
      const hook = scheduling.webhook;
      if (request.rawBody.length > hook.maxBodyBytes) {
        return fail(
          reject(
            'too-large',
            `body of ${request.rawBody.length} bytes exceeds the limit of ${hook.maxBodyBytes}`,
          ),
        );
      }
      const now = request.now ?? Date.now();
      const verified = verifyWebhook({
        scheme: hook.scheme,
        secret: hook.secret,
        headers: request.headers,
        rawBody: request.rawBody,
        method: request.method,
        url: request.url,
        now,
        toleranceSeconds: hook.toleranceSeconds,
      });
      if (!verified.ok) return fail(verified);
      const parsed = parseWebhookBody(request.headers, request.rawBody);
      if (!parsed.ok) return fail(reject('invalid-payload', parsed.message));
      const params: JsonObject = {
        webhook: {
          deliveryId: verified.deliveryId,
          receivedAt: new Date(now).toISOString(),
          scheme: hook.scheme,
        },
      };
      if (hook.payload === 'records') {
        const records = payloadRecords(parsed.value);
        if (!records.ok) return fail(reject('invalid-payload', records.message));
        if (hook.delivery === 'inbox') {
          return webhookInbox.accept(scheduling, {
            deliveryId: verified.deliveryId,
            receivedAt: new Date(now).toISOString(),
            records: records.records,
          });
        }
        params.records = records.records;
      } else {
        params.input = parsed.value;
      }
      const deliveryId = verified.deliveryId;
      // The delivery table's uniqueness picks the one copy that starts a run; the run id is also
      // deterministic, so the job queue's uniqueness backs it up. Deliveries recorded before the
      // store kept run ids have none: theirs is the same derivation.
      const derivedRunId = deterministicUuid(`sluice:webhook:${pipelineName}:${deliveryId}`);
      const claim = await webhookDeliveries.recordDelivery(
        pipelineName,
        deliveryId,
        new Date(now).toISOString(),
        derivedRunId,
      );
      const runId = claim.runId ?? derivedRunId;
      const duplicate: WebhookResponse = {
        status: 200,
        body: { runId, deliveryId, duplicate: true },
      };
      // A copy seen before is a duplicate, unless the first call recorded it and then failed to
      // enqueue: its run is then missing, and enqueuing now (idempotent per run id) completes it.
      if (!claim.fresh && (await runs.get(runId))) return duplicate;
      // Past the bound nothing is enqueued: the delivery stays recorded without a run, so the
      // sender's retry of it (same delivery id) is enqueued once there is room, like a copy whose
      // first enqueue failed.
      const refusal = await backlogRefusal(scheduling, 'webhook');
      if (refusal) {
        return {
          status: 429,
          body: {
            error: backlogFullMessage(refusal),
            reason: 'backlog-full',
            retryAfterSeconds: refusal.retryAfterSeconds,
          },
        };
      }
      const { created } = await enqueue({
        pipeline: pipelineName,
        trigger: 'webhook',
        runId,
        params,
      });
      return created ? { status: 202, body: { runId, deliveryId } } : duplicate;
    },

    async backfill(pipelineName, spec) {
      requirePipeline(pipelineName);
      const chunks = splitDateRange(spec.from, spec.to, spec.chunkDays ?? 1);
      const id = backfillId(pipelineName, spec);
      const results: BackfillResult['chunks'] = [];
      for (const chunk of chunks) {
        const latest = await latestChunkRun(id, chunk.index, (runId) => runs.get(runId));
        if (latest && latest.run.status !== 'failed' && latest.run.status !== 'cancelled') {
          results.push({
            ...chunk,
            runId: latest.run.id,
            action: 'kept',
            status: latest.run.status,
          });
          continue;
        }
        const generation = latest ? latest.generation + 1 : 0;
        const runId = chunkRunId(id, chunk.index, generation);
        await enqueue({
          pipeline: pipelineName,
          trigger: 'api',
          runId,
          params: {
            ...(spec.params ?? {}),
            from: chunk.from,
            to: chunk.to,
            backfill: { id, index: chunk.index, chunks: chunks.length },
          },
          ...(latest ? { parentRunId: latest.run.id } : {}),
        });
        results.push({
          ...chunk,
          runId,
          action: latest ? 'retried' : 'enqueued',
          status: 'queued',
        });
      }
      return { backfillId: id, chunks: results };
    },

    async cancel(runId) {
      const run = await runs.requestCancel(runId);
      if (!run) return undefined;
      if (run.status === 'cancelled') {
        // Keep a queued job from being claimed at all; a claimed one sees the status and skips.
        await queue
          .cancel(runId, run.pipeline)
          .catch((error: unknown) => logger.debug({ err: error, runId }, 'job already gone'));
      }
      active.get(runId)?.();
      return run;
    },

    async setPipelines(list) {
      pipelines = resolve(list);
      if (started && options.worker !== false) await syncWorkers();
      if (started && options.cron !== false) await cron.start([...pipelines.values()]);
    },
  };
  return scheduler;
}
