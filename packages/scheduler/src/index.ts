/**
 * `@sluice/scheduler`: cron, webhook and API triggers, a run queue on pg-boss (PostgreSQL or
 * PGlite), and the run lifecycle around the host's pipeline execution — concurrency, no
 * overlap, timeouts, retries with backoff, cancellation, take-over after a crash (bounded, and
 * independent of the retry policy).
 *
 * @example
 * ```ts
 * import { createScheduler, verifyWebhook } from '@sluice/scheduler';
 * ```
 *
 * @packageDocumentation
 */
export {
  createScheduler,
  type InboundWebhook,
  type Scheduler,
  type SchedulerOptions,
  type StopOutcome,
  type StopReport,
  type WebhookResponse,
} from './scheduler.js';
export {
  BacklogFullError,
  backlogFullMessage,
  type RefusedTrigger,
  type TriggerRefusal,
} from './backlog.js';
export type {
  EnqueuedRun,
  ExecuteContext,
  ExecuteRun,
  RunRequest,
  RunSummary,
  SchedulerStores,
} from './types.js';
export { runBreakdownOf, runCountsOf, withRunCounts } from './types.js';
export {
  MAX_QUEUED_RUNS_LIMIT,
  SCHEDULING_DEFAULTS,
  cronTriggerSchema,
  isPipelineScheduling,
  parsePipelineScheduling,
  pipelineSchedulingSchema,
  runRetrySchema,
  webhookTriggerSchema,
  type PipelineScheduling,
  type PipelineSchedulingInput,
  type ResolvedCronTrigger,
  type ResolvedWebhookInbox,
  type ResolvedWebhookTrigger,
} from './config.js';
export {
  compileCron,
  isValidTimeZone,
  tickJitterMs,
  type CronOptions,
  type CronSchedule,
} from './cron/schedule.js';
export { MISSED_COUNT_CAP, dueTicks, type DueTicks, type MissedRunPolicy } from './cron/missed.js';
export { CronRunner, type CronRunnerOptions, type FireTick } from './cron/cron-runner.js';
export { backfillChunkRunId, cronRunId, deterministicUuid } from './ids.js';
export {
  MAX_BACKFILL_CHUNKS,
  backfillId,
  chunkRunId,
  latestChunkRun,
  splitDateRange,
  type BackfillChunk,
  type BackfillChunkResult,
  type BackfillResult,
  type BackfillSpec,
} from './backfill.js';
export {
  DEFAULT_QUEUE_NAME,
  RunQueue,
  abandonedQueueName,
  pipelineQueueName,
  runSlotKey,
  versionPriority,
  type AbandonedRunJob,
  type ClaimableJob,
  type PipelineWorkOptions,
  type RunJob,
  type RunJobData,
  type RunQueueOptions,
} from './run-queue.js';
export type {
  DeadLetteredJob,
  JobQueueInstance,
  JobQueueOptions,
  QueuedJob,
} from './job-queue-types.js';
export {
  DEFAULT_MAX_TAKEOVERS,
  MAX_TAKEOVERS_LIMIT,
  RunAbandonedError,
  RunTakeoverLimitError,
  takeoversSoFar,
  type AttemptCounts,
} from './attempts.js';
export { failAbandonedRun, queueFailureReason } from './abandoned-runs.js';
export {
  DEFAULT_UNCLAIMED_RUN_TIMEOUT_SECONDS,
  RunUnclaimedError,
  UNCLAIMED_RUN_TIMEOUT_LIMITS,
  UnclaimedRunSweeper,
  type UnclaimedRunSweeperOptions,
} from './unclaimed-runs.js';
export {
  RunCancelledError,
  RunTimeoutError,
  ensureRunRecord,
  runJob,
  toRunError,
  type AbortCause,
  type RunWorkerDeps,
} from './run-worker.js';
export { createRunLogger, type RunLogger } from './run-log.js';
export { DEFAULT_WEBHOOK_TOLERANCE_SECONDS, verifyWebhook } from './webhooks/verify.js';
export {
  parseStandardWebhooksSecret,
  signStandardWebhook,
  verifyStandardWebhook,
} from './webhooks/standard-webhooks.js';
export { hubspotSignedUri, signHubSpotV3, verifyHubSpotV3 } from './webhooks/hubspot.js';
export { signSlackRequest, verifySlackRequest } from './webhooks/slack.js';
export {
  MAX_PAYLOAD_DEPTH,
  parseWebhookBody,
  payloadRecords,
  type ParsedPayload,
} from './webhooks/payload.js';
export {
  WEBHOOK_SCHEMES,
  type WebhookHeaders,
  type WebhookRejection,
  type WebhookRequest,
  type WebhookScheme,
  type WebhookVerification,
} from './webhooks/types.js';
export {
  createWebhookInbox,
  inboxDrainParams,
  withInboxFollowUp,
  type InboxAcceptResponse,
  type InboxDrainParams,
  type WebhookInbox,
  type WebhookInboxOptions,
} from './webhooks/inbox.js';
