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
export { databaseDestination } from './destination.js';
export { databaseConfigSchema, type ColumnConfig, type DatabaseConfig } from './config.js';
export { COLUMN_TYPES, ddlType, type ColumnType } from './column-types.js';
export { classifySqlError, type SqlErrorClass } from './sql-errors.js';
export { NodeSqliteDialect, type NodeSqliteDialectConfig } from './node-sqlite-dialect.js';
export { isValidIdentifier, quoteIdentifier, type DialectName } from './identifiers.js';

import { definePlugin } from '@sluice/core';
import { databaseDestination } from './destination.js';

/**
 * The plugin that registers the `database` destination kind.
 *
 * @example
 * ```ts
 * import databasePlugin from '@sluice/destinations-database';
 * new PluginRegistry().register(databasePlugin);
 * ```
 */
const databasePlugin = definePlugin({
  name: '@sluice/destinations-database',
  version: '0.1.0',
  sluice: '^1',
  destinations: [databaseDestination],
});
export default databasePlugin;
export { databasePlugin };
