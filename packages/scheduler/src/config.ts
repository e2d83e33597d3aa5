/**
 * The scheduling part of a pipeline's configuration: triggers, concurrency, timeout, retries.
 * Validated with valibot; {@link parsePipelineScheduling} applies the defaults.
 *
 * @packageDocumentation
 */
import {
  ConfigError,
  RETRY_DEFAULTS,
  issuesFromValibot,
  resolveBackoffPolicy,
  type BackoffPolicy,
} from '@sluice/core';
import * as v from 'valibot';
import { compileCron, type CronSchedule } from './cron/schedule.js';
import type { MissedRunPolicy } from './cron/missed.js';
import { WEBHOOK_SCHEMES, type WebhookScheme } from './webhooks/types.js';

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));

/** Largest `maxQueuedRuns` a pipeline or the scheduler accepts. */
export const MAX_QUEUED_RUNS_LIMIT = 1_000_000;
const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));

/** Schema of one cron trigger. */
export const cronTriggerSchema = v.strictObject({
  /** Distinguishes several schedules of one pipeline; default `cron` (then `cron-2`, …). */
  name: v.optional(v.pipe(v.string(), v.regex(/^[\w.-]{1,64}$/, 'letters, digits, _ . - (1–64)'))),
  expression: v.pipe(v.string(), v.minLength(1)),
  timezone: v.optional(v.string()),
  /** Each tick starts up to this many milliseconds late, the same delay on every instance. */
  jitterMs: v.optional(nonNegativeInt),
  missed: v.optional(v.picklist(['skip', 'catch-up'])),
  /** With `missed: catch-up`: run at most this many missed ticks (the newest). Default 1. */
  catchUpMax: v.optional(v.pipe(positiveInt, v.maxValue(1000))),
});

/** Schema of a pipeline's webhook trigger. */
export const webhookTriggerSchema = v.strictObject({
  scheme: v.picklist(WEBHOOK_SCHEMES as WebhookScheme[]),
  secret: v.optional(v.pipe(v.string(), v.minLength(1))),
  toleranceSeconds: v.optional(v.pipe(positiveInt, v.maxValue(3600))),
  maxBodyBytes: v.optional(v.pipe(positiveInt, v.maxValue(64 * 1024 * 1024))),
  /** `input`: the parsed body becomes `params.input`; `records`: it becomes `params.records` (an array of objects). */
  payload: v.optional(v.picklist(['input', 'records'])),
  /** `run`: a run per delivery; `inbox` (with `payload: records`): the durable inbox, drained in micro-batches. Default `run`. */
  delivery: v.optional(v.picklist(['run', 'inbox'])),
  /** Micro-batches and bound of `delivery: inbox`; defaults in {@link SCHEDULING_DEFAULTS}. */
  inbox: v.optional(
    v.strictObject({
      maxRecords: v.optional(v.pipe(positiveInt, v.maxValue(100_000))),
      maxWaitMs: v.optional(v.pipe(nonNegativeInt, v.maxValue(60_000))),
      maxDepth: v.optional(v.pipe(positiveInt, v.maxValue(10_000_000))),
    }),
  ),
});

/**
 * Schema of a pipeline's retry policy for failed runs: core's one backoff policy shape. Keys
 * left out take core's `RETRY_DEFAULTS.run`; without a `retry` a failed run is not retried.
 */
export const runRetrySchema = v.strictObject({
  /** Tries of a run, including the first (at most 101). Default 3. */
  maxAttempts: v.optional(v.pipe(positiveInt, v.maxValue(101))),
  /** Ceiling of the first wait, in milliseconds. Default 1 000. */
  initialDelayMs: v.optional(nonNegativeInt),
  /** Ceiling of every wait, in milliseconds (a `retryAfterMs` the error asks for may exceed it). Default 60 000. */
  maxDelayMs: v.optional(nonNegativeInt),
  /** Growth of the ceiling per retry. Default 2. */
  multiplier: v.optional(v.pipe(v.number(), v.minValue(1))),
});

/** Schema of the scheduling options of one pipeline. */
export const pipelineSchedulingSchema = v.strictObject({
  name: v.pipe(v.string(), v.regex(/^[\w.-]{1,128}$/, 'letters, digits, _ . - (1–128)')),
  cron: v.optional(v.union([cronTriggerSchema, v.array(cronTriggerSchema)])),
  webhook: v.optional(webhookTriggerSchema),
  /** Allow several runs of this pipeline at once. Default false. */
  allowOverlap: v.optional(v.boolean()),
  /** With `allowOverlap`: how many at once across every instance (best effort). Default 4. */
  concurrency: v.optional(v.pipe(positiveInt, v.maxValue(64))),
  /** A run is aborted (and retried) after this long. Default 1 hour. */
  timeoutMs: v.optional(v.pipe(positiveInt, v.minValue(1000))),
  retry: v.optional(runRetrySchema),
  /**
   * Back-pressure: at most this many runs of the pipeline in status `queued`; past it webhook
   * deliveries and API triggers are refused (429, `Retry-After`). Default: the scheduler's
   * `maxQueuedRuns` (1000).
   */
  maxQueuedRuns: v.optional(v.pipe(positiveInt, v.maxValue(MAX_QUEUED_RUNS_LIMIT))),
});

/** The scheduling options of a pipeline as written in config. */
export type PipelineSchedulingInput = v.InferInput<typeof pipelineSchedulingSchema>;

/** One cron trigger, compiled. */
export interface ResolvedCronTrigger {
  name: string;
  schedule: CronSchedule;
  jitterMs: number;
  missed: MissedRunPolicy;
}

/** A pipeline's webhook trigger with defaults applied. */
export interface ResolvedWebhookTrigger {
  scheme: WebhookScheme;
  secret: string | undefined;
  toleranceSeconds: number;
  maxBodyBytes: number;
  payload: 'input' | 'records';
  delivery: 'run' | 'inbox';
  /** With `delivery: inbox`: records per drain run, its idle wait, and the inbox's bound. */
  inbox: ResolvedWebhookInbox;
}

/** The micro-batches and bound of a `delivery: inbox` webhook trigger, defaults applied. */
export interface ResolvedWebhookInbox {
  maxRecords: number;
  maxWaitMs: number;
  maxDepth: number;
}

/** A pipeline's scheduling options, validated, with every default applied. */
export interface PipelineScheduling {
  name: string;
  cron: ResolvedCronTrigger[];
  webhook: ResolvedWebhookTrigger | undefined;
  /** Runs at once across every instance: 1 unless `allowOverlap`. */
  concurrency: number;
  allowOverlap: boolean;
  timeoutMs: number;
  /** Tries of a run that fails (throws); `maxAttempts: 1` without a `retry` policy. */
  retry: BackoffPolicy;
  /** The pipeline's own back-pressure bound; undefined: the scheduler's `maxQueuedRuns`. */
  maxQueuedRuns: number | undefined;
}

// A pipeline without `retry`: a failed run is not retried (as in `@sluice/config`).
const NO_RETRY: BackoffPolicy = Object.freeze({ ...RETRY_DEFAULTS.run, maxAttempts: 1 });

/** Defaults applied by {@link parsePipelineScheduling} (retries: core's `RETRY_DEFAULTS.run`). */
export const SCHEDULING_DEFAULTS = {
  timeoutMs: 60 * 60 * 1000,
  overlapConcurrency: 4,
  webhook: {
    toleranceSeconds: 300,
    maxBodyBytes: 1024 * 1024,
    payload: 'input' as const,
    delivery: 'run' as const,
    inbox: { maxRecords: 1000, maxWaitMs: 500, maxDepth: 100_000 },
  },
  catchUpMax: 1,
  /** Runs of a pipeline in status `queued` before its triggers are refused (the scheduler's `maxQueuedRuns`). */
  maxQueuedRuns: 1000,
  /** The `Retry-After` of a refusal past `maxQueuedRuns`, in seconds. */
  backlogRetryAfterSeconds: 30,
} as const;

/**
 * Validates a pipeline's scheduling options and applies defaults; compiles its cron expressions.
 *
 * @throws ConfigError listing every problem with its path under `path` (default `pipelines.<name>`).
 * @example
 * ```ts
 * const daily = parsePipelineScheduling({
 *   name: 'daily',
 *   cron: { expression: '0 0 8 * * *', timezone: 'Europe/Berlin', missed: 'catch-up', catchUpMax: 3 },
 *   webhook: { scheme: 'standard-webhooks', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
 *   retry: { maxAttempts: 4 },
 * });
 * ```
 */
export function parsePipelineScheduling(
  input: unknown,
  path?: readonly (string | number)[],
): PipelineScheduling {
  const named =
    typeof input === 'object' && input !== null ? (input as { name?: unknown }).name : undefined;
  const prefix = path ?? ['pipelines', typeof named === 'string' ? named : '?'];
  const result = v.safeParse(pipelineSchedulingSchema, input);
  if (!result.success) throw new ConfigError(issuesFromValibot(result.issues, prefix));
  const config = result.output;
  const cronList =
    config.cron === undefined ? [] : Array.isArray(config.cron) ? config.cron : [config.cron];
  const issues: { path: string; message: string }[] = [];
  const names = new Set<string>();
  const cron: ResolvedCronTrigger[] = [];
  cronList.forEach((trigger, index) => {
    const at = [...prefix.map(String), Array.isArray(config.cron) ? `cron[${index}]` : 'cron'];
    const name = trigger.name ?? (index === 0 ? 'cron' : `cron-${index + 1}`);
    if (names.has(name))
      issues.push({
        path: `${at.join('.')}.name`,
        message: `duplicate schedule name ${JSON.stringify(name)}`,
      });
    names.add(name);
    try {
      cron.push({
        name,
        schedule: compileCron({ expression: trigger.expression, timezone: trigger.timezone }, at),
        jitterMs: trigger.jitterMs ?? 0,
        missed:
          trigger.missed === 'catch-up'
            ? { kind: 'catch-up', max: trigger.catchUpMax ?? SCHEDULING_DEFAULTS.catchUpMax }
            : { kind: 'skip' },
      });
    } catch (error) {
      if (error instanceof ConfigError) issues.push(...error.issues);
      else throw error;
    }
  });
  if (config.webhook && config.webhook.scheme !== 'none' && !config.webhook.secret) {
    issues.push({
      path: [...prefix.map(String), 'webhook', 'secret'].join('.'),
      message: `required by scheme ${config.webhook.scheme}`,
    });
  }
  if (config.webhook?.delivery === 'inbox') {
    const at = [...prefix.map(String), 'webhook'].join('.');
    if ((config.webhook.payload ?? SCHEDULING_DEFAULTS.webhook.payload) !== 'records')
      issues.push({ path: `${at}.delivery`, message: 'delivery inbox needs payload records' });
    if (config.allowOverlap)
      issues.push({
        path: [...prefix.map(String), 'allowOverlap'].join('.'),
        message: 'drain runs of a webhook inbox never overlap',
      });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const allowOverlap = config.allowOverlap ?? false;
  const resolved: PipelineScheduling = {
    name: config.name,
    cron,
    webhook: config.webhook && {
      scheme: config.webhook.scheme,
      secret: config.webhook.secret,
      toleranceSeconds:
        config.webhook.toleranceSeconds ?? SCHEDULING_DEFAULTS.webhook.toleranceSeconds,
      maxBodyBytes: config.webhook.maxBodyBytes ?? SCHEDULING_DEFAULTS.webhook.maxBodyBytes,
      payload: config.webhook.payload ?? SCHEDULING_DEFAULTS.webhook.payload,
      delivery: config.webhook.delivery ?? SCHEDULING_DEFAULTS.webhook.delivery,
      inbox: {
        maxRecords:
          config.webhook.inbox?.maxRecords ?? SCHEDULING_DEFAULTS.webhook.inbox.maxRecords,
        maxWaitMs: config.webhook.inbox?.maxWaitMs ?? SCHEDULING_DEFAULTS.webhook.inbox.maxWaitMs,
        maxDepth: config.webhook.inbox?.maxDepth ?? SCHEDULING_DEFAULTS.webhook.inbox.maxDepth,
      },
    },
    allowOverlap,
    concurrency: allowOverlap ? (config.concurrency ?? SCHEDULING_DEFAULTS.overlapConcurrency) : 1,
    timeoutMs: config.timeoutMs ?? SCHEDULING_DEFAULTS.timeoutMs,
    retry:
      config.retry === undefined
        ? NO_RETRY
        : resolveBackoffPolicy(config.retry, RETRY_DEFAULTS.run),
    maxQueuedRuns: config.maxQueuedRuns,
  };
  parsed.add(resolved);
  return resolved;
}

// Results of parsePipelineScheduling, so already-parsed options are not parsed twice.
const parsed = new WeakSet<object>();

/**
 * Whether `value` came from {@link parsePipelineScheduling}.
 *
 * @example
 * ```ts
 * isPipelineScheduling(parsePipelineScheduling({ name: 'daily' })); // true
 * isPipelineScheduling({ name: 'daily' });                          // false
 * ```
 */
export function isPipelineScheduling(value: unknown): value is PipelineScheduling {
  return typeof value === 'object' && value !== null && parsed.has(value);
}
