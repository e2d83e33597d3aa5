/**
 * The webhook inbox of `webhook.delivery: inbox` pipelines (issue 20): a verified delivery is
 * appended to the store's inbox (one statement; the caller answers 2xx after it committed), and
 * runs drain the inbox in micro-batches. Arrivals are coalesced: a drain run is enqueued only
 * when none this instance enqueued is still waiting to start, so 1,000 deliveries a second
 * become a few runs a second.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject, Logger, RunStore, WebhookInboxStore } from '@sluice/core';
import type { TriggerRefusal } from '../backlog.js';
import type { PipelineScheduling } from '../config.js';
import type { EnqueuedRun, ExecuteRun, RunRequest } from '../types.js';

/** How long a drain run seen queued is taken to be still queued. */
const QUEUED_LOOK_MS = 100;

/** The `params.inbox` of a drain run: what the executor reads with. */
export interface InboxDrainParams {
  maxRecords: number;
  maxWaitMs: number;
}

/** What {@link WebhookInbox.accept} answers; the HTTP layer sends it as it is. */
export type InboxAcceptResponse =
  | { status: 202; body: { deliveryId: string; inbox: { position: number } } }
  | { status: 200; body: { deliveryId: string; duplicate: true } }
  | { status: 429; body: { error: string; reason: 'backlog-full'; retryAfterSeconds: number } }
  | { status: 500; body: { error: string; reason: 'inbox-unavailable' } };

/** Options of {@link createWebhookInbox}. */
export interface WebhookInboxOptions {
  /** The store's inbox; undefined: inbox deliveries are answered 500 (a store without one). */
  inbox: WebhookInboxStore | undefined;
  runs: Pick<RunStore, 'get'>;
  /** The scheduler's one enqueue path. */
  enqueue(request: RunRequest): Promise<EnqueuedRun>;
  /** The scheduling options of a pipeline, if it still has them. */
  pipeline(name: string): PipelineScheduling | undefined;
  logger: Logger;
  /** The `Retry-After` of a refusal past `maxDepth`, in seconds. */
  retryAfterSeconds: number;
  /** Counts a refusal in the scheduler's back-pressure metric. */
  onRefused?: (refusal: TriggerRefusal) => void;
}

/** The inbox side of the scheduler. */
export interface WebhookInbox {
  /** Appends a verified delivery's records; on a fresh append, makes sure a drain run is queued. */
  accept(
    scheduling: PipelineScheduling,
    delivery: { deliveryId: string; receivedAt: string; records: JsonObject[] },
  ): Promise<InboxAcceptResponse>;
  /**
   * Makes sure a drain run of `pipeline` is queued (not merely running: a running drain may have
   * read its last batch already). Concurrent calls for one pipeline share one check. `finished`:
   * the id of a drain run that is ending, which no longer counts as queued.
   */
  requestDrain(pipeline: string, finished?: string): Promise<void>;
  /**
   * A drain run of `pipeline` started here: it no longer counts as queued, so the next delivery
   * enqueues the next drain instead of taking this one, seen queued a moment ago, to be waiting
   * (a drain that starts and ends within that moment would otherwise strand it).
   */
  drainStarted(pipeline: string, runId: string): void;
  /** Requests a drain of every inbox pipeline with deliveries waiting (at start: what a killed server accepted). */
  resume(): Promise<void>;
}

/** `params.inbox` of a run, when it is a drain run. */
export function inboxDrainParams(params: JsonObject | undefined): InboxDrainParams | undefined {
  const inbox = params?.inbox;
  if (typeof inbox !== 'object' || inbox === null || Array.isArray(inbox)) return undefined;
  const { maxRecords, maxWaitMs } = inbox;
  if (typeof maxRecords !== 'number' || typeof maxWaitMs !== 'number') return undefined;
  return { maxRecords, maxWaitMs };
}

/**
 * Creates the inbox side of a scheduler.
 *
 * @example
 * ```ts
 * const inbox = createWebhookInbox({ inbox: stores.webhookInbox, runs, enqueue, pipeline: (n) => pipelines.get(n), logger, retryAfterSeconds: 1 });
 * const answer = await inbox.accept(scheduling, { deliveryId, receivedAt, records });
 * ```
 */
export function createWebhookInbox(options: WebhookInboxOptions): WebhookInbox {
  const { inbox, runs, logger } = options;
  /** Per pipeline: the drain run this instance enqueued last, and the check in flight. */
  const drains = new Map<
    string,
    { runId?: string; queuedSeenAt: number; checking?: Promise<void>; again: boolean }
  >();

  const ensureQueued = async (pipeline: string) => {
    const scheduling = options.pipeline(pipeline);
    if (!scheduling?.webhook || scheduling.webhook.delivery !== 'inbox') return;
    const state = drains.get(pipeline)!;
    // Seen waiting a moment ago: under a burst, one look per QUEUED_LOOK_MS instead of one per
    // delivery. A delivery that lands just as that drain finished reading is not stranded: a
    // drain that succeeds with deliveries waiting requests the next (withInboxFollowUp), and
    // that request looks again whatever was seen.
    if (state.runId !== undefined && Date.now() - state.queuedSeenAt < QUEUED_LOOK_MS) return;
    if (state.runId !== undefined && (await runs.get(state.runId))?.status === 'queued') {
      state.queuedSeenAt = Date.now();
      return;
    }
    const params: InboxDrainParams = {
      maxRecords: scheduling.webhook.inbox.maxRecords,
      maxWaitMs: scheduling.webhook.inbox.maxWaitMs,
    };
    const runId = randomUUID();
    await options.enqueue({
      pipeline,
      trigger: 'webhook',
      runId,
      params: { inbox: { ...params } },
    });
    state.runId = runId;
    state.queuedSeenAt = Date.now();
  };

  const requestDrain = (pipeline: string, finished?: string): Promise<void> => {
    let state = drains.get(pipeline);
    if (!state) {
      state = { again: false, queuedSeenAt: 0 };
      drains.set(pipeline, state);
    }
    const current = state;
    if (finished !== undefined) {
      // A drain is ending: what was seen queued may be that very run, or may have started since.
      current.queuedSeenAt = 0;
      if (current.runId === finished) current.runId = undefined;
    }
    // A check in flight may have read the run as queued just before it started: check again after it.
    if (current.checking) {
      current.again = true;
      return current.checking;
    }
    current.checking = (async () => {
      try {
        do {
          current.again = false;
          await ensureQueued(pipeline);
        } while (current.again);
      } finally {
        current.checking = undefined;
      }
    })();
    return current.checking;
  };

  return {
    async accept(scheduling, delivery) {
      const hook = scheduling.webhook!;
      if (!inbox) {
        return {
          status: 500,
          body: {
            error: `pipeline "${scheduling.name}" has webhook.delivery inbox but the store has no webhook inbox`,
            reason: 'inbox-unavailable',
          },
        };
      }
      const added = await inbox.append({
        pipeline: scheduling.name,
        deliveryId: delivery.deliveryId,
        receivedAt: delivery.receivedAt,
        records: delivery.records,
        maxDepth: hook.inbox.maxDepth,
      });
      if (added.outcome === 'duplicate') {
        return { status: 200, body: { deliveryId: delivery.deliveryId, duplicate: true } };
      }
      if (added.outcome === 'full') {
        const refusal: TriggerRefusal = {
          pipeline: scheduling.name,
          trigger: 'webhook',
          reason: 'inbox-full',
          queued: added.depth,
          maxQueuedRuns: hook.inbox.maxDepth,
          retryAfterSeconds: options.retryAfterSeconds,
        };
        logger.warn(
          { pipeline: scheduling.name, depth: added.depth, maxDepth: hook.inbox.maxDepth },
          'webhook delivery refused: the inbox reached webhook.inbox.maxDepth',
        );
        options.onRefused?.(refusal);
        return {
          status: 429,
          body: {
            error: `pipeline "${scheduling.name}" has ${added.depth} deliveries waiting in its webhook inbox (webhook.inbox.maxDepth ${hook.inbox.maxDepth}); retry in ${options.retryAfterSeconds} s`,
            reason: 'backlog-full',
            retryAfterSeconds: options.retryAfterSeconds,
          },
        };
      }
      // The delivery is committed: the sender's answer does not wait for the drain's enqueue. A
      // failed enqueue is retried by the next delivery, the next drain run's end, or a restart.
      requestDrain(scheduling.name).catch((error: unknown) =>
        logger.error(
          { err: error, pipeline: scheduling.name },
          'could not enqueue a drain run of the webhook inbox',
        ),
      );
      return {
        status: 202,
        body: { deliveryId: delivery.deliveryId, inbox: { position: added.position } },
      };
    },

    requestDrain,
    drainStarted(pipeline, runId) {
      const state = drains.get(pipeline);
      if (state?.runId !== runId) return;
      state.runId = undefined;
      state.queuedSeenAt = 0;
    },

    async resume() {
      if (!inbox) return;
      const waiting = await inbox.pending();
      await Promise.all(
        waiting
          .filter((name) => options.pipeline(name)?.webhook?.delivery === 'inbox')
          .map((name) => requestDrain(name)),
      );
    },
  };
}

/**
 * Wraps a scheduler's `execute` so that a drain run that succeeds with deliveries still waiting
 * (it stopped at `maxRecords`) requests the next drain: no delivery waits for the next arrival.
 *
 * @example
 * ```ts
 * const execute = withInboxFollowUp(options.execute, webhookInbox, stores.webhookInbox, logger);
 * ```
 */
export function withInboxFollowUp(
  execute: ExecuteRun,
  inbox: Pick<WebhookInbox, 'requestDrain' | 'drainStarted'>,
  store: Pick<WebhookInboxStore, 'depth'> | undefined,
  logger: Logger,
): ExecuteRun {
  if (!store) return execute;
  return async (run, context) => {
    if (!inboxDrainParams(run.params)) return execute(run, context);
    inbox.drainStarted(run.pipeline, run.id);
    const summary = await execute(run, context);
    // Only after a success: a drain that fails (a destination down) is retried by the pipeline's
    // retry policy or the next delivery, not in a tight loop of failing runs.
    const waiting = await store.depth(run.pipeline).catch((error: unknown) => {
      logger.error({ err: error, pipeline: run.pipeline }, 'could not read the inbox depth');
      return 0;
    });
    if (waiting > 0) {
      inbox
        .requestDrain(run.pipeline, run.id)
        .catch((error: unknown) =>
          logger.error(
            { err: error, pipeline: run.pipeline },
            'could not enqueue the next drain run of the webhook inbox',
          ),
        );
    }
    return summary;
  };
}
