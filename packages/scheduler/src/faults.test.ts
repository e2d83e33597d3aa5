// Faults on real PostgreSQL: a worker killed with SIGKILL mid-run, and every connection to the
// database terminated mid-run (what a PostgreSQL restart looks like to clients; the shared
// server itself is not restarted). With an idempotent destination the final data is exactly
// the source data.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, type Store } from '@sluice/store';
import { createScheduler, type Scheduler } from './scheduler.js';
import { COPY_PAGE_SIZE, copyPipeline, seedCopyTables } from './testing/copy-pipeline.js';
import { startInstance, type InstanceProcess } from './testing/processes.js';
import { createTestDatabase, dropTestDatabase, terminateConnections } from './testing/postgres.js';
import { waitFor } from './testing/wait.js';

const DATABASE = 'sluice_sched_fault_test';

describe('scheduler faults on PostgreSQL', () => {
  let url: string;
  let pool: pg.Pool;
  let store: Store;
  const instances: InstanceProcess[] = [];
  const schedulers: Scheduler[] = [];

  const bossOptions = () => ({ connectionString: url, max: 3, schema: 'sluice_sched_jobs', superviseIntervalSeconds: 1, monitorIntervalSeconds: 1, registerInstance: false });
  const cursor = async (pipeline: string) => {
    const state = await store.checkpoints.get(pipeline);
    return typeof state === 'object' && state !== null && !Array.isArray(state) && typeof state.lastId === 'number' ? state.lastId : 0;
  };
  const expectExactCopy = async () => {
    const diff = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM (
         (SELECT id, payload FROM sched_source EXCEPT SELECT id, payload FROM sched_dest)
         UNION ALL (SELECT id, payload FROM sched_dest EXCEPT SELECT id, payload FROM sched_source)) d`,
    );
    expect(Number(diff.rows[0]!.n)).toBe(0);
    const counts = await pool.query<{ source: string; dest: string }>('SELECT (SELECT count(*) FROM sched_source) AS source, (SELECT count(*) FROM sched_dest) AS dest');
    expect(counts.rows[0]!.dest).toBe(counts.rows[0]!.source);
  };

  beforeAll(async () => {
    url = await createTestDatabase(DATABASE);
    store = await createStore({ url, schema: 'sluice_sched' });
    await store.migrate();
    pool = new pg.Pool({ connectionString: url, max: 3 });
    pool.on('error', () => undefined);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await Promise.all(schedulers.map((s) => s.stop()));
    await store?.close();
    await pool?.end();
    await dropTestDatabase(DATABASE);
  }, 60_000);

  it('takes over a run whose worker was killed with SIGKILL, and ends with exactly the source data', async () => {
    await seedCopyTables(pool, 100);
    const pipeline = 'copy-kill';
    const worker = { url, queueName: 'fault-kill', mode: 'worker', pipeline, pageDelayMs: 300 };
    const first = await startInstance({ ...worker, instance: 'first' });
    instances.push(first);
    const api = createScheduler({ stores: store, boss: bossOptions(), queueName: 'fault-kill', worker: false, cron: false, pipelines: [{ name: pipeline, retry: { limit: 3, delayMs: 0 } }], execute: async () => ({}) });
    schedulers.push(api);
    await api.start();
    const { runId } = await api.trigger(pipeline);
    await waitFor(async () => (await cursor(pipeline)) >= 30, { timeoutMs: 30_000, what: 'three pages to be delivered' });
    await first.kill9();
    const progressAtKill = await cursor(pipeline);
    expect(progressAtKill).toBeLessThan(100);
    instances.push(await startInstance({ ...worker, instance: 'second' }));
    const run = await waitFor(
      async () => {
        const r = await store.runs.get(runId);
        return r && r.status !== 'queued' && r.status !== 'running' ? r : undefined;
      },
      { timeoutMs: 90_000, what: 'the run to be taken over and finish' },
    );
    expect(run.status).toBe('succeeded');
    expect(run.attempt).toBeGreaterThanOrEqual(2);
    await expectExactCopy();
    // Only the page in flight at the kill may have been written twice.
    const rewritten = await pool.query<{ n: string }>('SELECT count(*) AS n FROM sched_dest WHERE writes > 1');
    expect(Number(rewritten.rows[0]!.n)).toBeLessThanOrEqual(COPY_PAGE_SIZE);
  }, 150_000);

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
      pipelines: [{ name: pipeline, retry: { limit: 5, delayMs: 1000, backoff: false } }],
      execute: copyPipeline({ pool: runPool, checkpoints: store.checkpoints, pageDelayMs: 200 }),
    });
    schedulers.push(scheduler);
    await scheduler.start();
    const { runId } = await scheduler.trigger(pipeline);
    await waitFor(async () => (await cursor(pipeline)) >= 20, { timeoutMs: 30_000, what: 'two pages to be delivered' });
    expect(await terminateConnections(DATABASE)).toBeGreaterThan(0);
    const run = await waitFor(
      async () => {
        const r = await store.runs.get(runId);
        return r && r.status !== 'queued' && r.status !== 'running' ? r : undefined;
      },
      { timeoutMs: 90_000, what: 'the run to finish after the connections were terminated' },
    );
    expect(run.status).toBe('succeeded');
    await expectExactCopy();
    // The scheduler is still usable afterwards: a new run goes through.
    const again = await scheduler.trigger(pipeline);
    const second = await waitFor(async () => {
      const r = await store.runs.get(again.runId);
      return r?.status === 'succeeded' ? r : undefined;
    }, { timeoutMs: 30_000, what: 'a run after the reconnect' });
    expect(second.status).toBe('succeeded');
    await runPool.end();
  }, 150_000);
});
