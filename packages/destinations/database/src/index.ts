/**
 * `@sluice/destinations-database`: a Sluice destination that writes records to SQL tables on
 * PostgreSQL (`pg`, with COPY for large batches), MySQL/MariaDB (`mysql2`) and SQLite
 * (`node:sqlite`, no native addon) through kysely — in `insert`, `upsert` or `dedupe` mode, with
 * per-record validation against declared column types.
 *
 * @example
 * ```ts
 * import { PluginRegistry, definePlugin } from '@sluice/core';
 * import { databaseDestination } from '@sluice/destinations-database';
 * const registry = new PluginRegistry();
 * registry.register(definePlugin({ name: '@sluice/destinations-database', sluice: '^1', destinations: [databaseDestination] }));
 * ```
 *
 * @packageDocumentation
 */
import { databasePlugin } from './plugin.js';

export { databasePlugin } from './plugin.js';
export { databaseDestination } from './destination.js';
export { databaseConfigSchema, type ColumnConfig, type DatabaseConfig } from './config.js';
export { COLUMN_TYPES, ddlType, type ColumnType } from './column-types.js';
export { classifySqlError, type SqlErrorClass } from './errors.js';
export { NodeSqliteDialect, type NodeSqliteDialectConfig } from './node-sqlite-dialect.js';
export { isValidIdentifier, quoteIdentifier, type DialectName } from './identifiers.js';

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-database"]` in sluice.yaml loads it by package name.
export default databasePlugin;
