// Three scheduler processes against one PostgreSQL, a cron firing every second: every tick is
// fired exactly once (no gap, no duplicate), also while one process is killed with SIGKILL and
// restarted. The default run lasts 20 s; SLUICE_SCHED_DIST_SECONDS=60 runs the full minute.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '@sluice/store';
import { createScheduler } from './scheduler.js';
import { startInstance, type InstanceProcess } from './__fixtures__/processes.js';
import { createTestDatabase, dropTestDatabase } from './__fixtures__/postgres.js';
import { sleep, waitFor } from './__fixtures__/wait.js';

const DATABASE = 'sluice_sched_dist_test';
const SECONDS = Number(process.env.SLUICE_SCHED_DIST_SECONDS ?? 20);

describe('three scheduler processes on one PostgreSQL', () => {
  let url: string;
  let pool: pg.Pool;
  const instances: InstanceProcess[] = [];

  beforeAll(async () => {
    url = await createTestDatabase(DATABASE);
    const store = await createStore({ url, schema: 'sluice_sched' });
    await store.migrate();
    await store.close();
    pool = new pg.Pool({ connectionString: url, max: 2 });
    await pool.query(
      'CREATE TABLE sched_fires (tick timestamptz NOT NULL, instance text NOT NULL, created boolean NOT NULL)',
    );
    await pool.query('CREATE TABLE sched_exec (tick timestamptz NOT NULL, instance text NOT NULL)');
  }, 120_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await pool?.end();
    await dropTestDatabase(DATABASE);
  }, 60_000);

  it(
    `fires each tick exactly once for ${SECONDS} s while one process is killed and restarted`,
    async () => {
      const common = { url, queueName: 'dist-runs', mode: 'cron', pipeline: 'every-second' };
      instances.push(
        ...(await Promise.all(
          ['a', 'b', 'c'].map((instance) => startInstance({ ...common, instance })),
        )),
      );
      const windowStart = Date.now();
      await sleep((SECONDS * 1000) / 3);
      await instances[1]!.kill9();
      await sleep(3000);
      instances[1] = await startInstance({ ...common, instance: 'b2' });
      await sleep(Math.max(0, windowStart + SECONDS * 1000 - Date.now()));
      await Promise.all(instances.map((i) => i.stop()));

      const fires = await pool.query<{
        tick: Date;
        created_count: string;
        fire_count: string;
        instances: string;
      }>(
        `SELECT tick, count(*) FILTER (WHERE created) AS created_count, count(*) AS fire_count, count(DISTINCT instance) AS instances
       FROM sched_fires GROUP BY tick ORDER BY tick`,
      );
      const ticks = fires.rows.map((r) => r.tick.getTime());
      expect(ticks.length).toBeGreaterThanOrEqual(SECONDS - 3);
      // No gap: consecutive seconds from the first tick to the last.
      for (let i = 1; i < ticks.length; i += 1) expect(ticks[i]! - ticks[i - 1]!).toBe(1000);
      // No duplicate: whichever instances fired a tick, exactly one created its run.
      for (const row of fires.rows) expect(Number(row.created_count)).toBe(1);
      // Every live instance fired every tick; dedup is what made them one run.
      expect(fires.rows.filter((r) => Number(r.instances) >= 2).length).toBeGreaterThan(
        ticks.length / 2,
      );

      // Drain: runs claimed by the killed process are taken over after its heartbeat lapses.
      const store = await createStore({ url, schema: 'sluice_sched' });
      const drain = createScheduler({
        stores: store,
        boss: {
          connectionString: url,
          max: 3,
          schema: 'sluice_sched_jobs',
          superviseIntervalSeconds: 1,
          monitorIntervalSeconds: 1,
          registerInstance: false,
        },
        queueName: 'dist-runs',
        pollingIntervalSeconds: 0.5,
        heartbeatSeconds: 10,
        cron: false,
        pipelines: [
          {
            name: 'every-second',
            cron: { expression: '* * * * * *' },
            allowOverlap: true,
            concurrency: 8,
          },
        ],
        execute: async (run) => {
          await pool.query('INSERT INTO sched_exec (tick, instance) VALUES ($1, $2)', [
            String(run.params.tick),
            'drain',
          ]);
          return {};
        },
      });
      await drain.start();
      try {
        await waitFor(
          async () => {
            const open = await store.runs.list({
              pipeline: 'every-second',
              status: ['queued', 'running'],
              limit: 1,
            });
            return open.items.length === 0;
          },
          { timeoutMs: 45_000, what: 'every run to finish' },
        );
        const all = await store.runs.list({ pipeline: 'every-second', limit: 1000 });
        expect(all.items.map((r) => r.status)).toEqual(ticks.map(() => 'succeeded'));
        expect(new Set(all.items.map((r) => Date.parse(String(r.params.tick))))).toEqual(
          new Set(ticks),
        );
      } finally {
        await drain.stop();
        await store.close();
      }
      const executed = await pool.query<{ n: string }>(
        'SELECT count(DISTINCT tick) AS n FROM sched_exec',
      );
      expect(Number(executed.rows[0]!.n)).toBe(ticks.length);
    },
    (SECONDS + 150) * 1000,
  );
});
