/**
 * `createStore`: opens the store on PostgreSQL (`url`) or an embedded PGlite (`dataDir`, or a
 * `pglite` instance to share), and wires every repository to one kysely instance bound to the
 * store's schema.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import {
  ConfigError,
  type JobQueueConnection,
  type Logger,
  type PluginStateStore,
  type SluiceStore,
  type WebhookInboxStore,
} from '@sluice/core';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createCheckpointStore } from './checkpoints.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { createSchemaChangeStore, type SchemaChangeStore } from './schema-changes.js';
import { createDeadLetterStore } from './dead-letters.js';
import { makeFolders } from './make-folders.js';
import { assertMigrationList, bundledMigrations, type Migration } from './migrations.js';
import {
  advisoryLock,
  migrationStates,
  processLock,
  runMigrations,
  type AnyKysely,
  type MigrateResult,
  type MigrationState,
} from './migrator.js';
import { createPgBossPGliteAdapter } from './pgboss-adapter.js';
import { extractImage, findImage } from './pglite-image.js';
import { createPluginStateStore } from './plugin-state.js';
import { closePGlite, createPGliteDialect } from './pglite-dialect.js';
import type { PGliteDatabase } from './pglite-types.js';
import { createRouteIndex, indexRoutes, type RouteIndex } from './routes.js';
import { createRunStore } from './runs.js';
import { createScheduleStateStore } from './schedule-state.js';
import type { StoreDatabase } from './schema.js';
import { createConfigStore, type ConfigStore } from './versioned-config.js';
import { createWebhookDeliveryStore } from './webhook-deliveries.js';
import { createWebhookInboxStore } from './webhook-inbox.js';

/**
 * Postgres settings of the PGlite the store opens. PGlite's defaults reserve 128 MB of shared
 * buffers, which Postgres touches at start-up, so they cost that much resident memory in every
 * process; 16 MB holds the store's working set (runs, checkpoints, jobs) with room to spare.
 */
export const PGLITE_SETTINGS: readonly string[] = Object.freeze(['shared_buffers = 16MB']);

/** See {@link StoreOptions.wasmCompiler}. */
export type WasmCompiler = 'baseline' | 'optimizing';

/**
 * Sets V8's WebAssembly tiering for the PGlite about to be compiled, unless node was started
 * with its own choice. The flag is read when a module is compiled, so it must be set before
 * `PGlite.create`.
 */
function useWasmCompiler(compiler: WasmCompiler): void {
  if (process.execArgv.some((arg) => /^--(no-)?liftoff-only$/.test(arg))) return;
  v8.setFlagsFromString(compiler === 'baseline' ? '--liftoff-only' : '--no-liftoff-only');
}

/**
 * Creates a new PGlite data folder by initdb, in a child process: initdb's WebAssembly instance
 * takes several hundred MB that a process does not give back; run here, they would stay with the
 * server for its whole life. The parent holds the folder lock meanwhile. Only for a store the
 * shipped image does not fit (another schema, settings or migrations); see pglite-image.ts.
 */
async function initdbInChild(dataDir: string): Promise<void> {
  const script = [
    "const { PGlite } = await import('@electric-sql/pglite');",
    'const [dir, settings] = process.argv.slice(1);',
    'const db = await PGlite.create(dir, { postgresqlconf: JSON.parse(settings) });',
    'await db.close();',
  ].join('\n');
  await new Promise<void>((done, fail) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script, resolve(dataDir), JSON.stringify(PGLITE_SETTINGS)],
      // From this package's folder, `@electric-sql/pglite` resolves to the copy it depends on.
      { cwd: fileURLToPath(new URL('..', import.meta.url)), maxBuffer: 4 * 1024 * 1024 },
      (error, _stdout, stderr) => {
        if (error)
          fail(
            new Error(
              `store: could not create the PGlite data folder ${dataDir}: ${stderr.trim() || error.message}`,
              { cause: error },
            ),
          );
        else done();
      },
    );
  });
}

/**
 * Opens the PGlite of a folder-backed store, creating the data folder first when it is new: from
 * the shipped pre-migrated image when it fits (unpacked natively, then opened as an existing
 * folder — the one PGlite start of the process), else by initdb in a child process.
 */
async function openPGliteFolder(
  dataDir: string,
  schema: string,
  migrations: readonly Migration[],
): Promise<PGlite> {
  const options = { postgresqlconf: [...PGLITE_SETTINGS] };
  if (existsSync(join(dataDir, 'PG_VERSION'))) return PGlite.create(dataDir, options);
  const image = findImage(schema, PGLITE_SETTINGS, migrations);
  if (image === undefined) {
    await initdbInChild(dataDir);
    return PGlite.create(dataDir, options);
  }
  await extractImage(image, dataDir);
  const pglite = await PGlite.create(dataDir, options);
  // The image was migrated at build time: the migrations count as applied now, in this folder.
  await pglite.query(`UPDATE "${schema}".sluice_migrations SET applied_at = now()`);
  return pglite;
}

/** Where the embedded database lives when neither `url`, `dataDir` nor `pglite` is given. */
export const DEFAULT_DATA_DIR = '.sluice/db';
/** The schema of the store's tables when none is given. */
export const DEFAULT_SCHEMA = 'sluice';
/**
 * The schema of the run queue's pg-boss tables in the reference server (`boss: { ...store.pgBossDb(),
 * schema: DEFAULT_JOBS_SCHEMA }`). The shipped PGlite image holds them already, installed at
 * build time, so a new data folder does not spend its first start creating them.
 */
export const DEFAULT_JOBS_SCHEMA = 'sluice_jobs';

/**
 * Options of {@link createStore}. Give at most one of `url`, `dataDir` and `pglite`.
 *
 * @example
 * ```ts
 * const options: StoreOptions = { url: 'postgres://sluice@db.internal/sluice', schema: 'sluice' };
 * ```
 */
export interface StoreOptions {
  /** PostgreSQL connection string (`postgres://user:pass@host:5432/db`): production, shared by several instances. */
  url?: string;
  /**
   * PGlite data folder (created when missing); `memory://` for a throw-away in-memory database.
   * Default `.sluice/db`. One process owns a folder: opening takes an exclusive lock
   * (`<dataDir>/sluice.lock`) and throws `DataDirLockedError` (`SLUICE_ERR_DATA_DIR_LOCKED`, naming
   * the folder and the owner's pid) while another live process, or another store of this process,
   * holds it. `close()` releases it; a lock left by a killed process does not block the next open.
   */
  dataDir?: string;
  /** An open PGlite to share (e.g. one per test file); the store never closes it. */
  pglite?: PGliteDatabase;
  /** Schema of the store's tables (letters, digits, `_`; starts with a letter or `_`). Default `sluice`. */
  schema?: string;
  /** Migrations to apply. Default: the ones shipped with the package ({@link bundledMigrations}). */
  migrations?: readonly Migration[];
  /** PostgreSQL pool size. Default 10. */
  maxConnections?: number;
  /**
   * How V8 compiles the embedded PGlite's WebAssembly (only when the store opens PGlite itself,
   * from `dataDir`). `baseline` (default): Liftoff only, as V8's `--liftoff-only` — start-up
   * does not spend CPU on optimising compiles in the background, and the process stays ~45 MB
   * smaller at idle and ~55 MB lower at its peak; SQL runs some 10-30 % slower once a long-running
   * process would have optimised it. `optimizing`: V8's default tiering to TurboFan, for a store
   * that runs many queries a second. The setting is process-wide in V8: it applies to every
   * PGlite this process compiles from then on. A `--liftoff-only` or `--no-liftoff-only` given
   * to node itself wins over both.
   */
  wasmCompiler?: WasmCompiler;
  /** Receives connection-level warnings (an idle pooled connection dropped by the server). */
  logger?: Logger;
}

/**
 * An open store: every repository of `@sluice/core`'s {@link SluiceStore}, the route index, and
 * the database plumbing (kysely, migrations, health, pg-boss).
 *
 * @example
 * ```ts
 * const store = await createStore({ dataDir: './.sluice/db' });
 * await store.migrate();
 * const run = await store.runs.create({ pipeline: 'daily', trigger: 'cli' });
 * await store.close();
 * ```
 */
export interface Store extends SluiceStore {
  readonly backend: 'postgres' | 'pglite';
  readonly schema: string;
  /** Kysely bound to the store's schema (unqualified table names resolve to it). */
  readonly db: Kysely<StoreDatabase>;
  /** The PostgreSQL connection string (`undefined` on PGlite). */
  readonly connectionString: string | undefined;
  pipelines: ConfigStore;
  connections: ConfigStore;
  destinations: ConfigStore;
  schedules: ConfigStore;
  routes: RouteIndex;
  /** The schema-change log: table changes destinations made under their schema policy. */
  schemaChanges: SchemaChangeStore;
  /** The durable webhook inbox of `webhook.delivery: inbox` pipelines. */
  webhookInbox: WebhookInboxStore;
  /**
   * Durable key/value state of one plugin instance (`ctx.state`), isolated by `namespace`
   * (the server uses `destination:<kind>:<name>` and `connector:<kind>:<pipeline>`).
   *
   * @example
   * ```ts
   * const state = store.pluginState('destination:slack:alerts');
   * await state.set('thread:C0123ABCD:disk-full', '1764057600.000100', { ttlMs: 30 * 86_400_000 });
   * ```
   */
  pluginState(namespace: string): PluginStateStore;
  /** Applies pending migrations under the migration lock; safe to call from every instance at start-up. */
  migrate(): Promise<MigrateResult>;
  /** Every migration with its state (pending, applied, changed, unknown). */
  migrationStatus(): Promise<MigrationState[]>;
  /** Resolves when the database answers a query; rejects otherwise (for `/readyz`). */
  ping(): Promise<void>;
  /** Closes the pool (PostgreSQL) or the PGlite the store opened, and releases its data-folder lock. Idempotent. */
  close(): Promise<void>;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function checkOptions(options: StoreOptions): void {
  const given = (['url', 'dataDir', 'pglite'] as const).filter((key) => options[key] !== undefined);
  if (given.length > 1) {
    throw new ConfigError([
      {
        path: given[1] as string,
        message: `give only one of url, dataDir and pglite (got ${given.join(' and ')})`,
      },
    ]);
  }
  if (options.url !== undefined && !/^postgres(ql)?:\/\//.test(options.url)) {
    throw new ConfigError([
      { path: 'url', message: 'expected a postgres:// or postgresql:// connection string' },
    ]);
  }
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new ConfigError([
      {
        path: 'schema',
        message: `invalid schema name ${JSON.stringify(options.schema)}: use letters, digits and _ (max 63)`,
      },
    ]);
  }
  if (
    options.wasmCompiler !== undefined &&
    !['baseline', 'optimizing'].includes(options.wasmCompiler)
  ) {
    throw new ConfigError([
      { path: 'wasmCompiler', message: "expected 'baseline' or 'optimizing'" },
    ]);
  }
  const max = options.maxConnections;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new ConfigError([{ path: 'maxConnections', message: 'expected a positive integer' }]);
  }
}

/**
 * Opens a store. Call `migrate()` before first use (the server does it at start-up).
 *
 * @example
 * ```ts
 * import { createStore } from '@sluice/store';
 *
 * const store = await createStore({ url: process.env.DATABASE_URL });
 * await store.migrate();
 * await store.checkpoints.commit('daily', { cursor: '2026-11-24' });
 * ```
 */
export async function createStore(options: StoreOptions = {}): Promise<Store> {
  checkOptions(options);
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const migrations = options.migrations ?? bundledMigrations();
  assertMigrationList(migrations);

  let base: AnyKysely;
  let pgBossDb: () => JobQueueConnection;
  let lock;
  let backend: Store['backend'];
  let folderLock: DataDirLock | undefined;
  let openedPGlite: PGliteDatabase | undefined;
  // Set below; the lock's heartbeat closes the store when someone else took the folder.
  let closeStore: () => Promise<void> = async () => {};
  if (options.url !== undefined) {
    const url = options.url;
    const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10 });
    // A server-side disconnect of an idle client arrives as a pool 'error'; the pool already drops
    // that client and the next query gets a fresh one, so this only reports it.
    pool.on('error', (error) =>
      options.logger?.warn({ err: error.message }, 'store: idle PostgreSQL connection lost'),
    );
    base = new Kysely({ dialect: new PostgresDialect({ pool }) });
    pgBossDb = () => ({ connectionString: url });
    lock = advisoryLock(base, schema);
    backend = 'postgres';
  } else {
    let pglite = options.pglite;
    const owned = pglite === undefined;
    if (pglite === undefined) {
      const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
      if (!dataDir.includes('://')) {
        await makeFolders(resolve(dataDir));
        // Before PGlite touches the folder: a second writer would corrupt it.
        folderLock = await acquireDataDirLock(resolve(dataDir), {
          onLost: (error) => {
            options.logger?.error(
              { err: error.message, code: error.code },
              'store: data folder lock lost; closing the store',
            );
            void closeStore().catch(() => {});
          },
        });
      }
      try {
        useWasmCompiler(options.wasmCompiler ?? 'baseline');
        pglite = dataDir.includes('://')
          ? await PGlite.create(dataDir, { postgresqlconf: [...PGLITE_SETTINGS] })
          : await openPGliteFolder(dataDir, schema, migrations);
      } catch (error) {
        await folderLock?.release().catch(() => {});
        throw error;
      }
    }
    openedPGlite = pglite;
    base = new Kysely({ dialect: createPGliteDialect({ pglite, closeOnDestroy: owned }) });
    const adapter = createPgBossPGliteAdapter(pglite);
    pgBossDb = () => ({ db: adapter, backend: 'pglite' });
    lock = processLock(pglite, base);
    backend = 'pglite';
  }

  const db = base.withSchema(schema) as Kysely<StoreDatabase>;
  let closed: Promise<void> | undefined;
  const lockToRelease = folderLock;
  const ownedPGlite = backend === 'pglite' && !options.pglite ? openedPGlite : undefined;
  closeStore = () => {
    // kysely closes its driver only once a query went through it: an owned PGlite is closed here too.
    closed ??= base
      .destroy()
      .then(() => (ownedPGlite ? closePGlite(ownedPGlite) : undefined))
      .finally(() => lockToRelease?.release());
    return closed;
  };
  return {
    backend,
    schema,
    db,
    connectionString: options.url,
    runs: createRunStore(db, schema),
    checkpoints: createCheckpointStore(db),
    deadLetters: createDeadLetterStore(db),
    scheduleState: createScheduleStateStore(db),
    webhookDeliveries: createWebhookDeliveryStore(db),
    webhookInbox: createWebhookInboxStore(db, schema),
    pipelines: createConfigStore(db, 'pipelines', indexRoutes),
    connections: createConfigStore(db, 'connections'),
    destinations: createConfigStore(db, 'destinations'),
    schedules: createConfigStore(db, 'schedules'),
    routes: createRouteIndex(db),
    schemaChanges: createSchemaChangeStore(db),
    pluginState: (namespace) => createPluginStateStore(db, namespace),
    pgBossDb,
    migrate: () => runMigrations({ schema, migrations, lock }),
    migrationStatus: () => migrationStates(base, schema, migrations),
    async ping() {
      await sql`SELECT 1`.execute(base);
    },
    close: () => closeStore(),
  };
}
