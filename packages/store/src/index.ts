/**
 * `@sluice/store`: Sluice's store on PostgreSQL (production) or embedded PGlite (default, a data
 * folder): migrations from plain SQL, pipelines and their versions, connections (secrets as
 * references only), destinations and the route index, schedules and their ticks, runs and their
 * logs, state checkpoints, dead letters, webhook deliveries, durable plugin state and the schema-change log. Implements the store interfaces
 * of `@sluice/core` (`RunStore`, `DeadLetterStore`, `CheckpointStore`, ...).
 *
 * @example
 * ```ts
 * import { createStore } from '@sluice/store';
 *
 * const store = await createStore({ dataDir: './.sluice/db' });
 * await store.migrate();
 * const { version } = await store.pipelines.save('daily', { source: 'ga4', routes: [] });
 * const run = await store.runs.create({ pipeline: 'daily', pipelineVersion: version, trigger: 'cli' });
 * await store.close();
 * ```
 *
 * @packageDocumentation
 */
export {
  DEFAULT_DATA_DIR,
  DEFAULT_JOBS_SCHEMA,
  DEFAULT_SCHEMA,
  createStore,
  type Store,
  type StoreOptions,
  type WasmCompiler,
} from './create-store.js';
export {
  DATA_DIR_LOCK_FILE,
  DataDirLockErrorCodes,
  DataDirLockedError,
  DataDirLockLostError,
  acquireDataDirLock,
  type DataDirLock,
  type DataDirLockOptions,
  type DataDirOwner,
} from './data-dir-lock.js';
export { bundledMigrations, loadMigrationsFromDir, type Migration } from './migrations.js';
export type { MigrateResult, MigrationState } from './migrator.js';
export { createPGliteDialect, type PGliteDialectOptions } from './pglite-dialect.js';
export type {
  PGliteDatabase,
  PGliteQueries,
  PGliteResults,
  PGliteTransaction,
} from './pglite-types.js';
export { createPgBossPGliteAdapter } from './pgboss-adapter.js';
export type { IndexedRoute, RouteIndex } from './routes.js';
export type {
  NewSchemaChange,
  SchemaChangeListFilter,
  SchemaChangeRecord,
  SchemaChangeStore,
} from './schema-changes.js';
export { createPluginStateStore, type PluginStateStoreOptions } from './plugin-state.js';
export { findPlaintextSecrets, isSecretKey, isSecretReference } from './secrets.js';
export type { ConfigStore, SaveOptions } from './versioned-config.js';
export type { StoreDatabase } from './schema.js';
