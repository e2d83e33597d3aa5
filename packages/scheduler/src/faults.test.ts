// Faults on real PostgreSQL: a worker process killed with SIGKILL mid-run, and every connection
// to the database terminated mid-run (what a PostgreSQL restart looks like to clients; the shared
// server itself is not restarted). With an idempotent destination the final data is exactly the
// source data. The SIGKILL scenarios run side by side, each with its own queue and tables: the
// killed worker is a child process, the worker that takes over runs in this process.
import { RetryableError, type RunRecord } from '@sluice/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, type ExpectStatic } from 'vitest';
import { createStore, type Store } from '@sluice/store';
import { createScheduler, type Scheduler } from './scheduler.js';
import {
  COPY_PAGE_SIZE,
  copyPipeline,
  copyTables,
  seedCopyTables,
} from './__fixtures__/copy-pipeline.js';
import { startInstance, type InstanceProcess } from './__fixtures__/processes.js';
import {
  createTestDatabase,
  dropTestDatabase,
  terminateConnections,
} from './__fixtures__/postgres.js';
import { waitFor } from './__fixtures__/wait.js';
import type { ExecuteRun } from './types.js';

const DATABASE = 'sluice_sched_fault_test';

describe('scheduler faults on PostgreSQL', () => {
  let url: string;
  let pool: pg.Pool;
  let store: Store;
  const instances: InstanceProcess[] = [];
  const schedulers: Scheduler[] = [];

  const bossOptions = () => ({
    connectionString: url,
    max: 3,
    schema: 'sluice_sched_jobs',
    superviseIntervalSeconds: 1,
    monitorIntervalSeconds: 1,
    registerInstance: false,
  });
  const cursor = async (pipeline: string) => {
    const state = await store.checkpoints.get(pipeline);
    return typeof state === 'object' &&
      state !== null &&
      !Array.isArray(state) &&
      typeof state.lastId === 'number'
      ? state.lastId
      : 0;
  };
  const finished = (runId: string, what: string) =>
    waitFor(
      async () => {
        const r = await store.runs.get(runId);
        return r && r.status !== 'queued' && r.status !== 'running' ? r : undefined;
      },
      { timeoutMs: 90_000, what },
    );
  const expectExactCopy = async (expect: ExpectStatic, prefix?: string) => {
    const { source, dest } = copyTables(prefix);
    const diff = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM (
         (SELECT id, payload FROM ${source} EXCEPT SELECT id, payload FROM ${dest})
         UNION ALL (SELECT id, payload FROM ${dest} EXCEPT SELECT id, payload FROM ${source})) d`,
    );
    expect(Number(diff.rows[0]!.n)).toBe(0);
    const counts = await pool.query<{ source: string; dest: string }>(
      `SELECT (SELECT count(*) FROM ${source}) AS source, (SELECT count(*) FROM ${dest}) AS dest`,
    );
    expect(counts.rows[0]!.dest).toBe(counts.rows[0]!.source);
    // Only the page in flight at a kill may have been written twice.
    const rewritten = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${dest} WHERE writes > 1`,
    );
    expect(Number(rewritten.rows[0]!.n)).toBeLessThanOrEqual(COPY_PAGE_SIZE);
  };

  /**
   * Starts a copy run on a worker child process, kills it with SIGKILL after three pages, then
   * starts a worker here (whose pipeline is `execute` around the copy) and waits for the outcome.
   */
  const killMidRun = async (options: {
    key: string;
    retry: { maxAttempts: number; initialDelayMs?: number };
    maxTakeovers?: number;
    wrap?: (copy: ExecuteRun) => ExecuteRun;
  }) => {
    const { key, retry, maxTakeovers } = options;
    await seedCopyTables(pool, 100, key);
    const pipeline = `copy-${key}`;
    const queueName = `fault-${key}`;
    const pipelines = [{ name: pipeline, retry }];
    const common = {
      stores: store,
      boss: bossOptions(),
      queueName,
      cron: false,
      heartbeatSeconds: 10,
      pollingIntervalSeconds: 0.5,
      pipelines,
      ...(maxTakeovers === undefined ? {} : { maxTakeovers }),
    };
    const child = await startInstance({
      url,
      queueName,
      mode: 'worker',
      pipeline,
      pageDelayMs: 300,
      tables: key,
      retry,
      instance: key,
      ...(maxTakeovers === undefined ? {} : { maxTakeovers }),
    });
    instances.push(child);
    // The run is enqueued by an instance that does not work: the child is the only worker.
    const api = createScheduler({ ...common, worker: false, execute: async () => ({}) });
    schedulers.push(api);
    await api.start();
    const { runId } = await api.trigger(pipeline);
    await waitFor(async () => (await cursor(pipeline)) >= 3 * COPY_PAGE_SIZE, {
      timeoutMs: 30_000,
      what: 'three pages to be delivered',
    });
    await child.kill9();
    const killedAt = Date.now();
    const progressAtKill = await cursor(pipeline);
    const calls: { attempt: number; at: number }[] = [];
    const copy = copyPipeline({
      pool,
      checkpoints: store.checkpoints,
      pageDelayMs: 50,
      prefix: key,
    });
    const execute = options.wrap ? options.wrap(copy) : copy;
    const worker = createScheduler({
      ...common,
      execute: (run, context) => {
        calls.push({ attempt: context.attempt, at: Date.now() });
        return execute(run, context);
      },
    });
    schedulers.push(worker);
    await worker.start();
    const run = await finished(runId, `run ${key} to finish after the kill`);
    // Stopped when the scenario is over, so the connection test below has this database to itself.
    const stop = () => Promise.all([api.stop(), worker.stop()]);
    return { runId, run, pipeline, progressAtKill, calls, killedAt, api, stop };
  };
  const messages = async (run: RunRecord) =>
    (await store.runs.listLogs(run.id, { limit: 1000 })).map((l) => l.message);

  beforeAll(async () => {
    url = await createTestDatabase(DATABASE);
    store = await createStore({ url, schema: 'sluice_sched' });
    await store.migrate();
    pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => undefined);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await Promise.all(schedulers.map((s) => s.stop()));
    await store?.close();
    await pool?.end();
    await dropTestDatabase(DATABASE);
  }, 60_000);

  describe.concurrent('a worker killed with SIGKILL mid-run', () => {
    // Regression (found by the end-to-end crash tests): with no retry policy the job had no
    // pg-boss retries, so a crash failed it for good and the run stayed `running` forever.
    it('is taken over even when the pipeline has no retries, and ends succeeded with exactly the source data', async ({
      expect,
      annotate,
    }) => {
      const { run, progressAtKill, calls, killedAt, stop } = await killMidRun({
        key: 'kill_noretry',
        retry: { maxAttempts: 1 },
      });
      expect(progressAtKill).toBeLessThan(100);
      expect(run).toMatchObject({
        status: 'succeeded',
        attempt: 2,
        error: null,
        counts: { read: 100 - progressAtKill },
      });
      expect(calls.map((c) => c.attempt)).toEqual([2]);
      expect(await messages(run)).toContainEqual(expect.stringMatching(/^run taken over/));
      await expectExactCopy(expect, 'kill_noretry');
      await annotate(
        `taken over ${((calls[0]!.at - killedAt) / 1000).toFixed(1)} s after the kill (heartbeat 10 s)`,
      );
      await stop();
    }, 120_000);

    it('retries failures up to retry.maxAttempts and takes over crashes besides (maxAttempts 2: crash, failure, success)', async ({
      expect,
    }) => {
      const { run, calls, stop } = await killMidRun({
        key: 'kill_retry',
        retry: { maxAttempts: 2, initialDelayMs: 0 },
        wrap: (copy) => async (r, context) => {
          if (context.attempt === 2) throw new RetryableError('source busy');
          return copy(r, context);
        },
      });
      expect(run).toMatchObject({ status: 'succeeded', attempt: 3 });
      expect(calls.map((c) => c.attempt)).toEqual([2, 3]);
      const logs = await messages(run);
      expect(logs.filter((m) => m.startsWith('run taken over'))).toHaveLength(1);
      expect(logs.filter((m) => m.includes('will be retried'))).toHaveLength(1);
      await expectExactCopy(expect, 'kill_retry');
      await stop();
    }, 120_000);

    it('fails the run once its take-overs are used up, and leaves the pipeline free for the next run', async ({
      expect,
    }) => {
      const { run, pipeline, calls, api, stop } = await killMidRun({
        key: 'kill_cap',
        retry: { maxAttempts: 3, initialDelayMs: 0 },
        maxTakeovers: 0,
      });
      expect(run).toMatchObject({
        status: 'failed',
        attempt: 1,
        error: { name: 'RunTakeoverLimitError', code: 'SLUICE_ERR_FATAL' },
      });
      expect(run.error?.message).toMatch(
        /stopped or died before finishing it 1 time\(s\).*maxTakeovers: 0/,
      );
      expect(calls).toEqual([]);
      // The pipeline is not blocked, and its next run resumes from the checkpoint.
      const next = await finished((await api.trigger(pipeline)).runId, 'the next run');
      expect(next.status).toBe('succeeded');
      await expectExactCopy(expect, 'kill_cap');
      await stop();
    }, 120_000);
  });

  describe('database connections terminated', () => {
    it('survives every database connection being terminated mid-run: the run completes or is retried', async () => {
      await seedCopyTables(pool, 100);
      const pipeline = 'copy-restart';
      const runPool = new pg.Pool({ connectionString: url, max: 2 });
      runPool.on('error', () => undefined);
      const scheduler = createScheduler({
        stores: store,
        boss: bossOptions(),
        queueName: 'fault-restart',
        pollingIntervalSeconds: 0.5,
        heartbeatSeconds: 10,
        pipelines: [
          { name: pipeline, retry: { maxAttempts: 6, initialDelayMs: 1000, multiplier: 1 } },
        ],
        execute: copyPipeline({ pool: runPool, checkpoints: store.checkpoints, pageDelayMs: 200 }),
      });
      schedulers.push(scheduler);
      await scheduler.start();
      const { runId } = await scheduler.trigger(pipeline);
      await waitFor(async () => (await cursor(pipeline)) >= 20, {
        timeoutMs: 30_000,
        what: 'two pages to be delivered',
      });
      expect(await terminateConnections(DATABASE)).toBeGreaterThan(0);
      const run = await finished(runId, 'the run to finish after the connections were terminated');
      expect(run.status).toBe('succeeded');
      await expectExactCopy(expect);
      // The scheduler is still usable afterwards: a new run goes through.
      const again = await scheduler.trigger(pipeline);
      const second = await waitFor(
        async () => {
          const r = await store.runs.get(again.runId);
          return r?.status === 'succeeded' ? r : undefined;
        },
        { timeoutMs: 30_000, what: 'a run after the reconnect' },
      );
      expect(second.status).toBe('succeeded');
      await runPool.end();
    }, 150_000);
  });
});
