/**
 * The scheduler's own structural types for what its callers see of pg-boss: the constructor
 * options they pass, an instance they may own, and the jobs a worker receives. pg-boss's
 * declarations do not compile under `skipLibCheck: false` (they import `pg`'s missing types and
 * names pg-boss does not export), so the public `.d.ts` describe only these fields; run-queue.ts
 * hands them to pg-boss, which checks in-repo that they stay assignable to its types.
 *
 * @packageDocumentation
 */
import type { JobQueueDatabase } from '@sluice/core';

/**
 * pg-boss 12 constructor options the scheduler's callers set: the store's connection
 * (`...store.pgBossDb()`), the job schema, pool size and maintenance intervals.
 *
 * @example
 * ```ts
 * const boss: JobQueueOptions = { ...store.pgBossDb(), schema: 'sluice_jobs' };
 * const onPostgres: JobQueueOptions = { connectionString: 'postgres://sluice@db/sluice', max: 5 };
 * ```
 */
export interface JobQueueOptions {
  /** PostgreSQL connection string (pg-boss opens its own pool). */
  connectionString?: string;
  /** A database adapter instead of a pool, e.g. the store's PGlite adapter. */
  db?: JobQueueDatabase;
  /** The database backend (`pglite` with the store's PGlite adapter). Default `postgres`. */
  backend?: 'postgres' | 'cockroachdb' | 'yugabytedb' | 'citus' | 'pglite';
  /** Schema of pg-boss's tables. Default `pgboss`. */
  schema?: string;
  /** Pool size of pg-boss's own pool. */
  max?: number;
  /** `application_name` of pg-boss's connections. */
  application_name?: string;
  /** Seconds between supervision passes (the heartbeat check runs in them). */
  superviseIntervalSeconds?: number;
  /** Seconds between a queue's monitor passes. */
  monitorIntervalSeconds?: number;
  /** Seconds between maintenance passes. */
  maintenanceIntervalSeconds?: number;
  /** Record the instance in pg-boss's instance registry. Default true. */
  registerInstance?: boolean;
  /** pg-boss's own LISTEN, which wakes every worker of a queue for each job. The scheduler leaves it off for a pg-boss it owns and listens itself (one worker a job). */
  useListenNotify?: boolean;
}

/**
 * A pg-boss instance the caller owns (`new PgBoss(...)` from pg-boss 12): the scheduler neither
 * starts nor stops it, and recognises it with `instanceof PgBoss`. Typed by the lifecycle methods
 * only, so the scheduler's public types do not pull pg-boss's declarations in.
 *
 * @example
 * ```ts
 * import { PgBoss } from 'pg-boss';
 * const boss: JobQueueInstance = new PgBoss({ ...store.pgBossDb(), schema: 'sluice_jobs' });
 * await boss.start();
 * ```
 */
export interface JobQueueInstance {
  start(): Promise<unknown>;
  stop(options?: { graceful?: boolean; timeout?: number; close?: boolean }): Promise<void>;
}

/**
 * One claimed job as a worker receives it (the fields of pg-boss's `Job` the scheduler reads).
 *
 * @example
 * ```ts
 * const handle = async (job: QueuedJob<{ runId: string }>) => job.signal.aborted || console.log(job.data.runId, job.retryCount);
 * ```
 */
export interface QueuedJob<T> {
  id: string;
  /** The queue's name. */
  name: string;
  data: T;
  /** Times the job was claimed again after an earlier attempt started. */
  retryCount: number;
  /** Aborted when the worker loses the job (heartbeat lapsed, cancelled, shutdown timeout). */
  signal: AbortSignal;
}

/**
 * A job pg-boss failed for good and moved to a dead-letter queue (the metadata fields of
 * pg-boss's `JobWithMetadata` the scheduler reads).
 *
 * @example
 * ```ts
 * const why = (job: DeadLetteredJob<unknown>) => `${job.sourceRetryCount ?? 0} retries: ${JSON.stringify(job.sourceOutput)}`;
 * ```
 */
export interface DeadLetteredJob<T> extends QueuedJob<T> {
  /** The original job's `output` when it failed, usually its error; `null` when not dead-lettered. */
  sourceOutput: object | null;
  /** Retries the original job consumed; `null` when not dead-lettered. */
  sourceRetryCount: number | null;
}
