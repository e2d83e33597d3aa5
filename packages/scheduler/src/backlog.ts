/**
 * Back-pressure (issue 20): a bound on a pipeline's runs in status `queued`. Past it the
 * scheduler refuses webhook deliveries and API triggers instead of queueing an unbounded
 * backlog; the HTTP layer answers 429 with `Retry-After`. Never accept-and-drop: a refused
 * trigger stored no run, so the sender's retry is a fresh try.
 *
 * @packageDocumentation
 */
import { formatErrorMessage, errorCatalog } from '@sluice/core';

/** Which trigger a refusal turned away. Cron ticks are never refused (see docs/scheduler/triggers.md). */
export type RefusedTrigger = 'webhook' | 'api' | 'cli';

/** One refused trigger, as {@link SchedulerOptions.onTriggerRefused} reports it. */
export interface TriggerRefusal {
  pipeline: string;
  trigger: RefusedTrigger;
  /**
   * Why, a stable string for metric labels: `backlog-full`, the pipeline's queued runs reached
   * `maxQueuedRuns`; `inbox-full`, its webhook inbox reached `webhook.inbox.maxDepth` (then
   * `queued` is the inbox's depth and `maxQueuedRuns` that bound).
   */
  reason: 'backlog-full' | 'inbox-full';
  /** Runs of the pipeline in status `queued` when it was refused. */
  queued: number;
  /** The bound in force (the pipeline's `maxQueuedRuns`, else the scheduler's). */
  maxQueuedRuns: number;
  /** What the caller is told to wait, in seconds. */
  retryAfterSeconds: number;
}

/**
 * Thrown by `Scheduler.trigger` when the pipeline's queued runs reached `maxQueuedRuns`: nothing
 * was enqueued. Carries what an HTTP layer needs for its 429 (`retryAfterSeconds`).
 *
 * @example
 * ```ts
 * try {
 *   await scheduler.trigger('daily');
 * } catch (error) {
 *   if (error instanceof BacklogFullError) reply.header('retry-after', String(error.retryAfterSeconds));
 * }
 * ```
 */
export class BacklogFullError extends Error {
  readonly code = errorCatalog.backlogFull.code;
  readonly pipeline: string;
  readonly queued: number;
  readonly maxQueuedRuns: number;
  readonly retryAfterSeconds: number;
  constructor(
    refusal: Pick<TriggerRefusal, 'pipeline' | 'queued' | 'maxQueuedRuns' | 'retryAfterSeconds'>,
  ) {
    super(backlogFullMessage(refusal));
    this.name = 'BacklogFullError';
    this.pipeline = refusal.pipeline;
    this.queued = refusal.queued;
    this.maxQueuedRuns = refusal.maxQueuedRuns;
    this.retryAfterSeconds = refusal.retryAfterSeconds;
  }
}

/** The catalog's message of a refusal, filled in. */
export function backlogFullMessage(
  refusal: Pick<TriggerRefusal, 'pipeline' | 'queued' | 'maxQueuedRuns' | 'retryAfterSeconds'>,
): string {
  return formatErrorMessage(errorCatalog.backlogFull, {
    pipeline: refusal.pipeline,
    queued: refusal.queued,
    max: refusal.maxQueuedRuns,
    seconds: refusal.retryAfterSeconds,
  });
}

/**
 * How many runs of a pipeline are queued, as the back-pressure bound needs to know it: whether a
 * trigger still has room. The store is counted at most once per `maxAgeMs` per pipeline while the
 * estimate — the last count plus the runs this instance enqueued since — stays below the bound,
 * and always before a refusal, so a trigger is refused only on a fresh count. The estimate never
 * drops when runs start, so it errs towards counting again, never towards refusing; what it misses
 * is what other instances enqueued since the last count (at most `maxAgeMs` of their triggers).
 * Concurrent triggers of one pipeline share one count.
 *
 * @example
 * ```ts
 * const gauge = new QueuedRunsGauge((pipeline) => store.runs.countQueued(pipeline));
 * const { queued, room } = await gauge.check('daily', 1000);
 * if (room) gauge.noteEnqueued('daily');
 * ```
 */
export class QueuedRunsGauge {
  readonly #count: (pipeline: string) => Promise<number>;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #pipelines = new Map<
    string,
    { counted: number; countedAt: number; enqueued: number; counting?: Promise<number> }
  >();

  constructor(count: (pipeline: string) => Promise<number>, maxAgeMs = 1000, now = Date.now) {
    this.#count = count;
    this.#maxAgeMs = maxAgeMs;
    this.#now = now;
  }

  /** The queued runs of `pipeline` (estimated while there is room) and whether one more fits under `max`. */
  async check(pipeline: string, max: number): Promise<{ queued: number; room: boolean }> {
    const entry = this.#pipelines.get(pipeline);
    if (entry && this.#now() - entry.countedAt < this.#maxAgeMs) {
      const estimate = entry.counted + entry.enqueued;
      if (estimate < max) return { queued: estimate, room: true };
    }
    const queued = await this.#fresh(pipeline);
    return { queued, room: queued < max };
  }

  /** Counts a run this instance enqueued into the estimate (every trigger, refused kinds or not). */
  noteEnqueued(pipeline: string): void {
    const entry = this.#pipelines.get(pipeline);
    if (entry) entry.enqueued += 1;
  }

  #fresh(pipeline: string): Promise<number> {
    let entry = this.#pipelines.get(pipeline);
    if (entry?.counting) return entry.counting;
    if (!entry) {
      entry = { counted: 0, countedAt: -Infinity, enqueued: 0 };
      this.#pipelines.set(pipeline, entry);
    }
    const current = entry;
    const startedAt = this.#now();
    // Runs enqueued while the count is in flight may or may not be in it: they stay in the
    // estimate (counted twice at worst, which only brings the next count sooner).
    const enqueuedBefore = current.enqueued;
    const counting = this.#count(pipeline).then((counted) => {
      current.counted = counted;
      current.countedAt = startedAt;
      current.enqueued -= enqueuedBefore;
      return counted;
    });
    current.counting = counting;
    const clear = () => {
      if (current.counting === counting) delete current.counting;
    };
    counting.then(clear, clear);
    return counting;
  }
}
