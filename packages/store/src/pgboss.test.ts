import type { JobQueueConnection } from '@sluice/core';
import { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, openTestPGlite, type TestPGlite } from './__fixtures__/databases.js';
import { createStore, type Store } from './create-store.js';
import { createPgBossPGliteAdapter } from './pgboss-adapter.js';

describe('pg-boss 12 on the store PGlite', () => {
  let shared: TestPGlite;
  let store: Store;
  let boss: PgBoss;

  beforeAll(async () => {
    shared = await openTestPGlite();
    store = await createStore({ pglite: shared.pglite });
    await store.migrate();
  });
  afterAll(async () => {
    await boss?.stop({ graceful: false, close: false }).catch(() => undefined);
    await store.close();
    await shared.dispose();
  });

  it('starts, sends, inserts and works jobs next to the store tables', async () => {
    const connection: JobQueueConnection = store.pgBossDb();
    boss = new PgBoss({ ...connection, schema: 'sluice_jobs', supervise: false, schedule: false });
    const errors: Error[] = [];
    boss.on('error', (error) => errors.push(error));
    await boss.start();
    await boss.createQueue('runs');

    const worked: unknown[] = [];
    const done = new Promise<void>((resolve) => {
      void boss.work<{ runId: string }>(
        'runs',
        { pollingIntervalSeconds: 0.5, batchSize: 5 },
        async (jobs) => {
          // The store stays usable from inside a job: our queries and pg-boss's share one session.
          for (const job of jobs) {
            await store.runs.markRunning(job.data.runId);
            worked.push(job.data.runId);
          }
          if (worked.length === 3) resolve();
        },
      );
    });

    const runs = await Promise.all(
      [1, 2, 3].map(() => store.runs.create({ pipeline: 'daily', trigger: 'cron' })),
    );
    const id = await boss.send('runs', { runId: runs[0]!.id });
    expect(typeof id).toBe('string');
    expect(
      await boss.insert(
        'runs',
        runs.slice(1).map((run) => ({ data: { runId: run.id } })),
        { returnId: true },
      ),
    ).toHaveLength(2);
    await done;

    expect(worked.sort()).toEqual(runs.map((run) => run.id).sort());
    for (const run of runs) expect((await store.runs.get(run.id))?.status).toBe('running');
    await expect
      .poll(async () => (await boss.getJobById('runs', id!))?.state, { timeout: 10_000 })
      .toBe('completed');
    expect(errors).toEqual([]);
    // pg-boss kept to its own schema.
    expect((await store.migrationStatus()).every((m) => m.state === 'applied')).toBe(true);
  });

  it('the adapter returns one result per statement for multi-statement text and recovers from a failed block', async () => {
    const db = createPgBossPGliteAdapter(shared.pglite);
    expect((await db.executeSql('SELECT 1 AS a')).rows).toEqual([{ a: 1 }]);
    const many = (await db.executeSql('SELECT 1 AS a; SELECT 2 AS b')) as unknown as {
      rows: unknown[];
    }[];
    expect(many.map((r) => r.rows)).toEqual([[{ a: 1 }], [{ b: 2 }]]);
    expect((await db.executeSql('SELECT $1::int AS n', [7])).rows).toEqual([{ n: 7 }]);
    await expect(db.executeSql('BEGIN; SELECT no_such_function(); COMMIT')).rejects.toThrow(
      /no_such_function/,
    );
    // The aborted transaction was rolled back, so the session works again.
    expect((await db.executeSql('SELECT 3 AS c')).rows).toEqual([{ c: 3 }]);
    expect(shared.pglite.isInTransaction()).toBe(false);
  });
});

describe('pg-boss 12 on the store PostgreSQL', () => {
  it('starts from the connection string the store exposes and works a job', async () => {
    const database = await createTestDatabase('sluice_store_test_pgboss');
    const store = await createStore({ url: database.url });
    const boss = new PgBoss({
      ...store.pgBossDb(),
      schema: 'sluice_jobs',
      supervise: false,
      schedule: false,
      max: 2,
    });
    try {
      await store.migrate();
      await boss.start();
      await boss.createQueue('runs');
      const run = await store.runs.create({ pipeline: 'daily', trigger: 'api' });
      const worked = new Promise<string>((resolve) => {
        void boss.work<{ runId: string }>('runs', { pollingIntervalSeconds: 0.5 }, async ([job]) =>
          resolve(job!.data.runId),
        );
      });
      await boss.send('runs', { runId: run.id });
      expect(await worked).toBe(run.id);
    } finally {
      await boss.stop({ graceful: false }).catch(() => undefined);
      await store.close();
      await database.drop();
    }
  });
});
