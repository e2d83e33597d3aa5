// Fast run claims on PostgreSQL (issue 20): a run enqueued by one instance wakes an idle worker of
// another through the queue's NOTIFY, long before that worker's next poll; one NOTIFY wakes one
// worker, not all of them; and after the LISTEN connection is cut, it is re-established.
import { createNoopLogger, type RunRecord } from '@sluice/core';
import { createStore, type Store } from '@sluice/store';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  dropTestDatabase,
  POSTGRES_ADMIN_URL,
} from './__fixtures__/postgres.js';
import { runEnded, waitFor } from './__fixtures__/wait.js';
import { jobNotifyChannel } from './run-queue.js';
import { createScheduler, type Scheduler } from './scheduler.js';

const DATABASE = 'sluice_sched_wake_test';
const JOB_SCHEMA = 'sluice_wake_jobs';
// Far longer than any test here waits: a run that starts did so because of a NOTIFY.
const POLL_SECONDS = 60;

describe('run wake-ups on PostgreSQL', () => {
  let url: string;
  let store: Store;
  const schedulers: Scheduler[] = [];

  beforeAll(async () => {
    url = await createTestDatabase(DATABASE);
    store = await createStore({ url, schema: 'sluice_wake' });
    await store.migrate();
  }, 120_000);
  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await dropTestDatabase(DATABASE);
  }, 60_000);

  const start = async (
    options: { worker?: boolean; queueName: string; execute?: (run: RunRecord) => void },
    pipeline: string,
  ) => {
    const scheduler = createScheduler({
      stores: store,
      boss: { connectionString: url, max: 4, schema: JOB_SCHEMA, registerInstance: false },
      queueName: options.queueName,
      pollingIntervalSeconds: POLL_SECONDS,
      logger: createNoopLogger(),
      worker: options.worker ?? true,
      cron: false,
      concurrency: 4,
      pipelines: [{ name: pipeline, allowOverlap: true, concurrency: 4 }],
      execute: async (run) => {
        options.execute?.(run);
        return { counts: { read: 1 } };
      },
    });
    schedulers.push(scheduler);
    await scheduler.start();
    return scheduler;
  };

  /** The workers' first fetch happens at start; give it time so the next one is a poll away. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

  it("listens on pg-boss's NOTIFY channel for its job schema", async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ channel: string }>(
        `SELECT 'pgboss_' || left(encode(sha224($1::text::bytea), 'hex'), 24) AS channel`,
        [JOB_SCHEMA],
      );
      expect(jobNotifyChannel(JOB_SCHEMA)).toBe(rows[0]!.channel);
      expect(jobNotifyChannel(`"${JOB_SCHEMA}"`)).toBe(rows[0]!.channel);
    } finally {
      await client.end();
    }
  });

  it('starts a run another instance enqueued without waiting for a poll, on one woken worker', async () => {
    const queueName = `wake-${Date.now().toString(36)}`;
    const pipeline = 'woken';
    const started: RunRecord[] = [];
    await start({ queueName, execute: (run) => void started.push(run) }, pipeline);
    const api = await start({ queueName, worker: false }, pipeline);
    await settle();

    const fetches = countFetches(`${queueName}/${pipeline}`);
    const runs = [];
    try {
      for (let i = 0; i < 3; i += 1) {
        const { runId } = await api.trigger(pipeline, { params: { i } });
        const run = await runEnded(store.runs, runId, 10_000);
        expect(run).toMatchObject({ status: 'succeeded', counts: { read: 1 } });
        runs.push(run);
      }
      // The fetch a worker makes right after its run, looking for the next one.
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      fetches.stop();
    }
    expect(started.map((r) => r.params)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    // Each NOTIFY woke one of the four idle workers: one fetch claims the run, one after it looks
    // for the next. Waking all four would be at least five fetches a run.
    expect(fetches.count()).toBeGreaterThanOrEqual(3);
    expect(fetches.count()).toBeLessThanOrEqual(3 * 2);
    const logs = await store.runs.listLogs(runs[0]!.id);
    expect(logs.map((l) => l.message)).toEqual(['run succeeded']);
  });

  it('listens again after its connection was cut, and finds what was enqueued meanwhile', async () => {
    const queueName = `relisten-${Date.now().toString(36)}`;
    const pipeline = 'relisten';
    await start({ queueName }, pipeline);
    const api = await start({ queueName, worker: false }, pipeline);
    await settle();

    const listener = async () => {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        const { rows } = await client.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE datname = $1 AND (query LIKE 'LISTEN %' OR query LIKE '%pg_listening_channels%')`,
          [DATABASE],
        );
        return rows.map((r) => r.pid);
      } finally {
        await client.end();
      }
    };
    // The worker instance's LISTEN (the trigger-only one listens too; cut both).
    const before = await waitFor(
      async () => {
        const pids = await listener();
        return pids.length >= 2 ? pids : undefined;
      },
      { timeoutMs: 10_000 },
    );
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [before]);
    } finally {
      await admin.end();
    }
    const { runId } = await api.trigger(pipeline);
    // Enqueued while nobody listened: found by the fetch every worker makes once re-connected.
    expect(await runEnded(store.runs, runId, 20_000)).toMatchObject({ status: 'succeeded' });
    const after = await waitFor(
      async () => {
        const pids = await listener();
        return pids.some((pid) => !before.includes(pid)) ? pids : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(after.length).toBeGreaterThanOrEqual(1);
    const next = await api.trigger(pipeline);
    expect(await runEnded(store.runs, next.runId, 10_000)).toMatchObject({ status: 'succeeded' });
  }, 60_000);
});

/**
 * pg-boss's claim statements (its fetch: `WITH next AS (SELECT j.id ... WHERE j.name = '<queue>'`)
 * this process sends for `queue`, counted on pg's Client#query, which pg-boss's pool uses.
 */
function countFetches(queue: string): { count(): number; stop(): void } {
  const query = pg.Client.prototype.query;
  let count = 0;
  const marker = `j.name = '${queue}'`;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text;
    if (text !== undefined && /WITH\s+next AS/.test(text) && text.includes(marker)) count += 1;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  return {
    count: () => count,
    stop: () => {
      pg.Client.prototype.query = query;
    },
  };
}
