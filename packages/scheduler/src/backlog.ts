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
