import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FatalError } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  openTestPGlite,
  uniqueSchema,
  withClient,
  type TestDatabase,
  type TestPGlite,
} from './__fixtures__/databases.js';
import { createStore, type Store } from './create-store.js';
import { bundledMigrations, loadMigrationsFromDir } from './migrations.js';

const MIGRATIONS_DIR = join(import.meta.dirname, '..', '..', '..', 'migrations');
const NAMES = [
  '0001_initial_schema',
  '0002_connectors',
  '0003_router_config',
  '0004_scheduler_jobs',
  '0005_plugin_state',
  '0006_webhook_delivery_runs',
  '0007_json_key_order',
  '0008_dead_letter_position',
  '0009_runs_queued_index',
  '0010_schema_changes',
  '0011_runs_finished_index',
  '0012_run_breakdown',
  '0013_webhook_inbox',
];
const TABLES = [
  'checkpoints',
  'connection_versions',
  'connections',
  'dead_letters',
  'destination_versions',
  'destinations',
  'pipeline_routes',
  'pipeline_versions',
  'pipelines',
  'plugin_state',
  'run_logs',
  'runs',
  'schedule_ticks',
  'schedule_versions',
  'schedules',
  'schema_changes',
  'sluice_migrations',
  'webhook_deliveries',
  'webhook_inbox',
];

async function tablesOf(store: Store): Promise<string[]> {
  const rows = await store.db
    .withoutPlugins()
    .selectFrom('information_schema.tables' as never)
    .select('table_name' as never)
    .where('table_schema' as never, '=', store.schema as never)
    .orderBy('table_name' as never)
    .execute();
  return rows.map((row) => (row as { table_name: string }).table_name);
}

describe('bundled migrations', () => {
  it('are the SQL files of the top-level migrations/ folder, in order (run scripts/embed-migrations.mjs after editing them)', async () => {
    const files = await loadMigrationsFromDir(MIGRATIONS_DIR);
    expect(bundledMigrations()).toEqual(files);
    expect(files.map((m) => m.name)).toEqual(NAMES);
  });

  it('reject an unordered or duplicated list, naming the entry', async () => {
    const [a, b] = bundledMigrations();
    await expect(createStore({ dataDir: 'memory://', migrations: [b!, a!] })).rejects.toThrow(
      /migrations\[1\]\.name/,
    );
    await expect(createStore({ dataDir: 'memory://', migrations: [a!, a!] })).rejects.toThrow(
      /duplicate migration/,
    );
  });
});

describe('migrations on PostgreSQL', () => {
  let database: TestDatabase;
  const stores: Store[] = [];
  const open = async (schema: string) => {
    const store = await createStore({ url: database.url, schema, maxConnections: 3 });
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    database = await createTestDatabase('sluice_store_test_migrator');
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await database.drop();
  });

  it('apply cleanly to an empty database and are idempotent to re-run', async () => {
    const store = await open(uniqueSchema('mig'));
    expect((await store.migrationStatus()).map((m) => m.state)).toEqual(NAMES.map(() => 'pending'));
    expect(await store.migrate()).toEqual({ applied: NAMES, skipped: [] });
    expect(await tablesOf(store)).toEqual(TABLES);
    expect(await store.migrate()).toEqual({ applied: [], skipped: NAMES });
    const status = await store.migrationStatus();
    expect(status.map((m) => [m.name, m.state])).toEqual(NAMES.map((n) => [n, 'applied']));
    expect(status.every((m) => typeof m.appliedAt === 'string')).toBe(true);
  });

  it('SQL files can be re-run by hand over an applied schema (every statement is IF NOT EXISTS)', async () => {
    const store = await open(uniqueSchema('mig'));
    await store.migrate();
    await withClient(database.url, async (client) => {
      await client.query(`SET search_path TO ${store.schema}`);
      for (const migration of await loadMigrationsFromDir(MIGRATIONS_DIR))
        await client.query(migration.sql);
    });
    expect(await tablesOf(store)).toEqual(TABLES);
  });

  it('two instances migrating at once on separate connections apply each migration exactly once', async () => {
    const schema = uniqueSchema('mig');
    const [a, b] = [await open(schema), await open(schema)];
    const results = await Promise.all([a!.migrate(), b!.migrate()]);
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, NAMES.length]);
    const rows = await withClient(database.url, (c) =>
      c.query(`SELECT count(*)::int AS n FROM ${schema}.sluice_migrations`),
    );
    expect(rows.rows[0].n).toBe(NAMES.length);
  });

  it('waits for the advisory lock held by another session', async () => {
    const schema = uniqueSchema('mig');
    const store = await open(schema);
    await withClient(database.url, async (holder) => {
      await holder.query(`SELECT pg_advisory_lock(hashtext('sluice:migrate'), hashtext($1))`, [
        schema,
      ]);
      let finished = false;
      const migrating = store.migrate().then((r) => {
        finished = true;
        return r;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(finished).toBe(false);
      expect((await store.migrationStatus())[0]?.state).toBe('pending');
      await holder.query(`SELECT pg_advisory_unlock(hashtext('sluice:migrate'), hashtext($1))`, [
        schema,
      ]);
      expect((await migrating).applied).toEqual(NAMES);
    });
  });

  it('refuses to run when an applied migration was edited, and reports it', async () => {
    const schema = uniqueSchema('mig');
    await (await open(schema)).migrate();
    const edited = bundledMigrations().map((m, i) =>
      i === 1 ? { ...m, sql: `${m.sql}\n-- edited\n` } : m,
    );
    const store = await createStore({ url: database.url, schema, migrations: edited });
    stores.push(store);
    await expect(store.migrate()).rejects.toBeInstanceOf(FatalError);
    await expect(store.migrate()).rejects.toThrow(/0002_connectors/);
    expect((await store.migrationStatus()).find((m) => m.name === '0002_connectors')?.state).toBe(
      'changed',
    );
  });

  it('rolls a failing migration back and applies later ones only after it is fixed', async () => {
    const schema = uniqueSchema('mig');
    const broken = [
      ...bundledMigrations(),
      { name: '0099_broken', sql: 'CREATE TABLE extra (id int); SELECT no_such_function();' },
    ];
    const store = await createStore({ url: database.url, schema, migrations: broken });
    stores.push(store);
    await expect(store.migrate()).rejects.toThrow(/0099_broken failed/);
    const status = await store.migrationStatus();
    expect(status.filter((m) => m.state === 'applied')).toHaveLength(NAMES.length);
    expect(status.at(-1)).toMatchObject({ name: '0099_broken', state: 'pending' });
    const exists = await withClient(database.url, (c) =>
      c.query(`SELECT to_regclass('${schema}.extra') AS t`),
    );
    expect(exists.rows[0].t).toBeNull();
  });
});

describe('migrations on PGlite', () => {
  let shared: TestPGlite;
  const stores: Store[] = [];
  const open = async (schema: string) => {
    const store = await createStore({ pglite: shared.pglite, schema });
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    shared = await openTestPGlite();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await shared.dispose();
  });

  it('apply cleanly to an empty database and are idempotent to re-run', async () => {
    const store = await open('sluice');
    expect(await store.migrate()).toEqual({ applied: NAMES, skipped: [] });
    expect(await tablesOf(store)).toEqual(TABLES);
    expect(await store.migrate()).toEqual({ applied: [], skipped: NAMES });
    expect((await store.migrationStatus()).map((m) => m.state)).toEqual(NAMES.map(() => 'applied'));
  });

  it('SQL files can be re-run by hand over an applied schema', async () => {
    const store = await open(uniqueSchema('mig'));
    await store.migrate();
    for (const migration of await loadMigrationsFromDir(MIGRATIONS_DIR)) {
      await shared.pglite.transaction(async (tx) => {
        await tx.exec(`SET LOCAL search_path TO ${store.schema}`);
        await tx.exec(migration.sql);
      });
    }
    expect(await tablesOf(store)).toEqual(TABLES);
  });

  it('concurrent migrate() calls on one PGlite run one after another', async () => {
    const schema = uniqueSchema('mig');
    const [a, b] = [await open(schema), await open(schema)];
    const results = await Promise.all([a!.migrate(), b!.migrate()]);
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, NAMES.length]);
  });

  it('keeps schemas apart in one database', async () => {
    const [a, b] = [await open(uniqueSchema('mig')), await open(uniqueSchema('mig'))];
    await a!.migrate();
    expect((await b!.migrationStatus()).every((m) => m.state === 'pending')).toBe(true);
  });

  it('a store opened on a data folder persists across reopening', async () => {
    const dir = join(shared.dir, 'own');
    const first = await createStore({ dataDir: dir });
    await first.migrate();
    await first.checkpoints.commit('p', { cursor: 1 });
    await first.close();
    const second = await createStore({ dataDir: dir });
    expect(await second.migrate()).toEqual({ applied: [], skipped: NAMES });
    expect(await second.checkpoints.get('p')).toEqual({ cursor: 1 });
    await second.close();
  });

  it('validates its options, naming the field', async () => {
    await expect(createStore({ schema: 'bad-name', dataDir: 'memory://' })).rejects.toThrow(
      /schema/,
    );
    await expect(createStore({ url: 'mysql://x', schema: 'a' })).rejects.toThrow(/url/);
    await expect(createStore({ url: 'postgres://x/y', dataDir: '/tmp/x' })).rejects.toThrow(
      /only one of url, dataDir and pglite/,
    );
    expect(await readFile(join(MIGRATIONS_DIR, '0001_initial_schema.sql'), 'utf8')).toContain(
      'CREATE TABLE IF NOT EXISTS runs',
    );
  });
});
