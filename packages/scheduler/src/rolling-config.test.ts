// Issue 23, "Rolling config changes across replicas": several scheduler instances on one
// PostgreSQL store, each with its own pg-boss connection pool and its own pipelines and
// versions, as replicas are in the middle of a rolling deploy. A replica claims only runs of the
// pipelines it has, at the version they were enqueued under or a later one; a run nobody can
// execute stays queued, then fails after `unclaimedRunTimeoutSeconds` with a clear error.
import { createNoopLogger } from '@sluice/core';
import { createStore, type Store } from '@sluice/store';
import type { PgBoss } from 'pg-boss';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler, type Scheduler, type SchedulerOptions } from './scheduler.js';
import { createTestDatabase, dropTestDatabase } from './__fixtures__/postgres.js';
import { runEnded, sleep } from './__fixtures__/wait.js';
import { UnclaimedRunSweeper } from './unclaimed-runs.js';

const DATABASE = 'sluice_sched_rolling_test';
const UNCLAIMED_SECONDS = 10;

describe('rolling config changes across replicas (issue 23)', () => {
  let url: string;
  let store: Store;
  const schedulers: Scheduler[] = [];
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter += 1)}`;
  /** Which instance executed which run. */
  const executed: {
    instance: string;
    runId: string;
    pipeline: string;
    version: number | null | undefined;
  }[] = [];

  beforeAll(async () => {
    url = await createTestDatabase(DATABASE);
    store = await createStore({ url, schema: 'sluice_sched' });
    await store.migrate();
  }, 120_000);
  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
    executed.length = 0;
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await dropTestDatabase(DATABASE);
  }, 60_000);

  /** One replica: its own pg-boss pool, the pipelines of its configuration at their versions. */
  const replica = async (
    instance: string,
    queueName: string,
    versions: Record<string, number>,
    options: Partial<SchedulerOptions> = {},
  ): Promise<Scheduler> => {
    const scheduler = createScheduler({
      stores: store,
      boss: {
        connectionString: url,
        max: 3,
        schema: 'sluice_sched_jobs',
        superviseIntervalSeconds: 1,
        monitorIntervalSeconds: 1,
        registerInstance: false,
      },
      queueName,
      pollingIntervalSeconds: 0.5,
      heartbeatSeconds: 10,
      shutdownTimeoutMs: 5000,
      cron: false,
      unclaimedRunTimeoutSeconds: UNCLAIMED_SECONDS,
      pipelines: Object.keys(versions).map((name) => ({ name })),
      pipelineVersion: (name) => versions[name],
      execute: async (run) => {
        executed.push({
          instance,
          runId: run.id,
          pipeline: run.pipeline,
          version: run.pipelineVersion,
        });
        await sleep(150);
        return { counts: { read: 1, delivered: 1 } };
      },
      ...options,
    });
    schedulers.push(scheduler);
    await scheduler.start();
    return scheduler;
  };
  const finished = (id: string, timeoutMs = 30_000) => runEnded(store.runs, id, timeoutMs);
  const jobOf = (scheduler: Scheduler, pipeline: string, runId: string) =>
    (scheduler.queue.boss as PgBoss).getJobById(scheduler.queue.queueOf(pipeline), runId);

  it('rolling config changes across replicas: a replica without the pipeline, or with an older version, never claims its runs; the one that has it runs them', async () => {
    const queueName = unique('q');
    const pipeline = unique('p');
    const other = unique('other');
    // A lacks the pipeline; C has version 1 of it; B has version 2. All three work at once.
    const a = await replica('a', queueName, { [other]: 1 });
    const c = await replica('c', queueName, { [other]: 1, [pipeline]: 1 });
    const b = await replica('b', queueName, { [other]: 1, [pipeline]: 2 });
    expect(a.queue.workedPipelines()).not.toContain(pipeline);

    const newer: string[] = [];
    for (let i = 0; i < 6; i += 1) newer.push((await b.trigger(pipeline)).runId);
    // A run C enqueued under version 1: B (version 2) may run it too, exactly as version 1.
    const older = (await c.trigger(pipeline)).runId;
    for (const runId of newer) {
      const run = await finished(runId);
      expect(run).toMatchObject({ status: 'succeeded', pipelineVersion: 2, attempt: 1 });
      // Claimed once, by the replica that ran it: no hand-back, no take-over.
      expect((await jobOf(b, pipeline, runId))?.retryCount).toBe(0);
    }
    expect(executed.filter((e) => newer.includes(e.runId)).map((e) => e.instance)).toEqual(
      newer.map(() => 'b'),
    );
    expect(await finished(older)).toMatchObject({ status: 'succeeded', pipelineVersion: 1 });
    expect(['b', 'c']).toContain(executed.find((e) => e.runId === older)?.instance);
    expect(executed.filter((e) => e.instance === 'a')).toEqual([]);
  }, 60_000);

  it('rolling config changes across replicas: with only replicas that cannot execute a run alive, it stays queued, then fails after unclaimedRunTimeoutSeconds naming its pipeline and version', async () => {
    const queueName = unique('q');
    const pipeline = unique('p');
    const missing = unique('missing');
    // An API-only node with the new configuration enqueues; the only worker has version 1 of
    // `pipeline` and no `missing` at all.
    const api = await replica('api', queueName, { [pipeline]: 2, [missing]: 1 }, { worker: false });
    await replica('a', queueName, { [pipeline]: 1 });
    const startedAt = Date.now();
    const { runId } = await api.trigger(pipeline);
    const { runId: missingRunId } = await api.trigger(missing);

    await sleep((UNCLAIMED_SECONDS * 1000) / 2);
    expect((await store.runs.get(runId))?.status).toBe('queued');
    expect((await store.runs.get(missingRunId))?.status).toBe('queued');

    const run = await finished(runId, (UNCLAIMED_SECONDS + 10) * 1000);
    const waited = Date.now() - startedAt;
    expect(run).toMatchObject({
      status: 'failed',
      startedAt: null,
      pipelineVersion: 2,
      error: { name: 'RunUnclaimedError', code: 'SLUICE_ERR_FATAL' },
    });
    expect(run.error?.message).toBe(
      `no instance that can execute version 2 of pipeline "${pipeline}" claimed this run within ${UNCLAIMED_SECONDS} s (unclaimedRunTimeoutSeconds): ` +
        'no running instance has that version or a later one of the pipeline enabled in its configuration',
    );
    // Bounded: the timeout, plus at most one look at the queues (1 s here) and the poll.
    expect(waited).toBeGreaterThanOrEqual(UNCLAIMED_SECONDS * 1000);
    expect(waited).toBeLessThan((UNCLAIMED_SECONDS + 5) * 1000);
    expect(await finished(missingRunId, 10_000)).toMatchObject({
      status: 'failed',
      error: { name: 'RunUnclaimedError' },
    });
    expect((await store.runs.get(missingRunId))?.error?.message).toMatch(
      new RegExp(
        `^no instance that can execute version 1 of pipeline "${missing}" claimed this run within ${UNCLAIMED_SECONDS} s`,
      ),
    );
    // Its job is gone from the queue (cancelled), so a replica that comes later does not run a failed run.
    expect((await jobOf(api, pipeline, runId))?.state).toBe('cancelled');
    expect(executed).toEqual([]);
  }, 60_000);

  it('rolling config changes across replicas: a replica that has the pipeline and starts within the bound runs the waiting run', async () => {
    const queueName = unique('q');
    const pipeline = unique('p');
    const api = await replica('api', queueName, { [pipeline]: 3 }, { worker: false });
    await replica('a', queueName, { [pipeline]: 2 });
    const { runId } = await api.trigger(pipeline);
    await sleep((UNCLAIMED_SECONDS * 1000) / 2);
    expect((await store.runs.get(runId))?.status).toBe('queued');
    await replica('b', queueName, { [pipeline]: 3 });
    expect(await finished(runId, UNCLAIMED_SECONDS * 1000)).toMatchObject({
      status: 'succeeded',
      pipelineVersion: 3,
      attempt: 1,
    });
    expect(executed.map((e) => e.instance)).toEqual(['b']);
    // Past the bound, it stays succeeded: nothing fails a run that was claimed.
    await sleep((UNCLAIMED_SECONDS * 1000) / 2 + 2000);
    expect((await store.runs.get(runId))?.status).toBe('succeeded');
  }, 60_000);

  it('a replica whose configuration gains the pipeline, or a newer version of it, starts claiming its runs', async () => {
    const queueName = unique('q');
    const pipeline = unique('p');
    const versions: Record<string, number> = {};
    const api = await replica('api', queueName, { [pipeline]: 2 }, { worker: false });
    const a = await replica('a', queueName, versions);
    const { runId } = await api.trigger(pipeline);
    await sleep(1500);
    versions[pipeline] = 1;
    await a.setPipelines([{ name: pipeline }]);
    await sleep(1500);
    expect((await store.runs.get(runId))?.status).toBe('queued');
    versions[pipeline] = 2;
    await a.setPipelines([{ name: pipeline }]);
    expect(await finished(runId)).toMatchObject({ status: 'succeeded', pipelineVersion: 2 });
    expect(executed.map((e) => e.instance)).toEqual(['a']);
  }, 60_000);

  it('the unclaimed-run check never cancels a job a worker has claimed', async () => {
    const queueName = unique('q');
    const pipeline = unique('p');
    const api = await replica('api', queueName, { [pipeline]: 1 }, { worker: false });
    const { runId } = await api.trigger(pipeline);
    const boss = api.queue.boss as PgBoss;
    const [job] = await boss.fetch(api.queue.queueOf(pipeline));
    expect(job?.id).toBe(runId);
    expect(await api.queue.cancelIfQueued(api.queue.queueOf(pipeline), runId)).toBe(false);
    let now = Date.now();
    const sweeper = new UnclaimedRunSweeper({
      queue: api.queue,
      runs: store.runs,
      logger: createNoopLogger(),
      timeoutSeconds: 10,
      now: () => now,
    });
    expect(await sweeper.sweep()).toEqual([]);
    now += 60_000;
    expect(await sweeper.sweep()).toEqual([]);
    expect((await boss.getJobById(api.queue.queueOf(pipeline), runId))?.state).toBe('active');
    expect((await store.runs.get(runId))?.status).toBe('queued');
    expect(() =>
      createScheduler({
        stores: store,
        boss: { connectionString: url },
        pipelines: [],
        execute: async () => ({}),
        unclaimedRunTimeoutSeconds: 5,
      }),
    ).toThrow(/unclaimedRunTimeoutSeconds/);
  }, 30_000);
});
