/**
 * The `database` destination: writes each batch to one table of PostgreSQL, MySQL/MariaDB or
 * SQLite in one transaction, in `insert`, `upsert` or `dedupe` mode.
 */
import { CompiledQuery } from 'kysely';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  defineDestination,
  type Batch,
  type CheckResult,
  type DestinationInstance,
  type PluginContext,
  type RecordFailure,
  type WriteOptions,
} from '@sluice/core';
import type { SqlValue } from './column-types.js';
import { databaseConfigSchema, type DatabaseConfig } from './config.js';
import { openDatabase, type DatabaseHandle } from './connect.js';
import { createTableStatements } from './ddl.js';
import { quoteIdentifier, type TableName } from './identifiers.js';
import { createRowMapper, RecordRowError } from './row-mapper.js';
import { toSluiceError } from './sql-errors.js';
import { createTablePlan } from './statements.js';
import { createRowWriter } from './writer.js';

function parseTableName(table: string): TableName {
  const dot = table.indexOf('.');
  return dot < 0 ? { name: table } : { schema: table.slice(0, dot), name: table.slice(dot + 1) };
}

function createDatabaseInstance(config: DatabaseConfig, ctx: PluginContext): DestinationInstance {
  const table = parseTableName(config.table);
  const key = config.mode === 'insert' ? [] : (config.key ?? []);
  const plan = createTablePlan(config.dialect, table, config.columns, config.mode, key);
  const mapRow = createRowMapper(config.dialect, config.columns, new Set(key.map((k) => config.columns.find((c) => c.name.toLowerCase() === k.toLowerCase())!.name)));
  const logger = ctx.logger.child({ destination: 'database', dialect: config.dialect, table: config.table });
  const rowsWritten = ctx.metrics.counter({
    name: 'destination_database_rows_total',
    help: 'Rows written by the database destination, by table and outcome',
    labelNames: ['table', 'outcome'],
  });
  const doing = `writing to ${config.dialect} table "${config.table}"`;

  let handle: DatabaseHandle | undefined;
  let ready: Promise<void> | undefined;
  let closed = false;
  let write: ReturnType<typeof createRowWriter> | undefined;

  function connection(): DatabaseHandle {
    if (closed) throw new FatalError('the database destination is closed');
    handle ??= openDatabase(config, logger);
    return handle;
  }

  async function prepare(): Promise<void> {
    const { db, pgPool } = connection();
    if (config.createTable) {
      try {
        for (const statement of createTableStatements(config.dialect, table, config.columns, config.mode === 'insert' ? (config.key ?? []) : key)) {
          await db.executeQuery(CompiledQuery.raw(statement));
        }
      } catch (err) {
        throw toSluiceError(config.dialect, err, `creating table "${config.table}"`);
      }
    }
    write = createRowWriter({
      db,
      plan,
      pgPool,
      ...(config.dialect === 'postgres' ? { bulk: config.bulk, bulkThreshold: config.bulkThreshold } : {}),
    });
  }

  function ensureReady(): Promise<void> {
    // A failed preparation (database down) is retried on the next write, not cached forever.
    ready ??= prepare().catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    return ready;
  }

  return {
    open: ensureReady,

    async write(batch: Batch, options: WriteOptions): Promise<void> {
      if (options.signal.aborted) throw new RetryableError('write cancelled before it started', { cause: options.signal.reason });
      await ensureReady();
      const failures: RecordFailure[] = [];
      const rows: SqlValue[][] = [];
      const indexes: number[] = [];
      batch.records.forEach((record, index) => {
        try {
          rows.push(mapRow(record));
          indexes.push(index);
        } catch (err) {
          if (!(err instanceof RecordRowError)) throw err;
          failures.push({ index, error: new FatalError(err.message, { details: { column: err.column, field: err.field } }) });
        }
      });
      const rejected = await write!({ rows, indexes }, doing);
      failures.push(...rejected);
      rowsWritten.inc({ table: config.table, outcome: 'written' }, rows.length - rejected.length);
      if (failures.length > 0) {
        rowsWritten.inc({ table: config.table, outcome: 'failed' }, failures.length);
        logger.warn({ batch: batch.id, failed: failures.length }, 'records rejected');
        throw new PartialBatchError(failures);
      }
    },

    async check(): Promise<CheckResult> {
      try {
        const { db } = connection();
        const columns = config.columns.map((c) => quoteIdentifier(config.dialect, c.name)).join(', ');
        await db.executeQuery(CompiledQuery.raw(`SELECT ${columns} FROM ${plan.table} WHERE 1 = 0`));
        return { ok: true, message: `table "${config.table}" is reachable and has every declared column` };
      } catch (err) {
        const error = toSluiceError(config.dialect, err, `checking table "${config.table}"`);
        const hint = config.createTable ? ' (it will be created on open)' : '';
        return { ok: false, message: `${error.message}${hint}` };
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const open = handle;
      handle = undefined;
      await open?.destroy();
    },
  };
}

/**
 * The `database` destination kind.
 *
 * @example
 * ```ts
 * import { createPluginContext, parseConfig } from '@sluice/core';
 * import { databaseDestination } from '@sluice/destinations-database';
 *
 * const config = parseConfig(databaseDestination.configSchema, {
 *   dialect: 'sqlite',
 *   file: 'sessions.db',
 *   table: 'sessions',
 *   mode: 'upsert',
 *   key: ['day', 'channel'],
 *   createTable: true,
 *   columns: [
 *     { name: 'day', type: 'date', primaryKey: true },
 *     { name: 'channel', type: 'text', primaryKey: true },
 *     { name: 'sessions', type: 'bigint', from: '$.metrics.sessions' },
 *   ],
 * });
 * const destination = await databaseDestination.create(config, createPluginContext());
 * ```
 */
export const databaseDestination = defineDestination({
  kind: 'database',
  version: '0.1.0',
  description: 'Writes records to a PostgreSQL, MySQL/MariaDB or SQLite table (insert, upsert or dedupe).',
  configSchema: databaseConfigSchema,
  capabilities: (config) => ({
    maxBatch: config.maxBatch,
    // SQLite has a single writer: concurrent batches would only queue.
    maxInFlight: config.dialect === 'sqlite' ? 1 : config.maxInFlight,
    // Upserts and dedupes leave the same rows when a batch is written twice; plain inserts do not.
    idempotent: config.mode !== 'insert',
  }),
  create: (config, ctx) => createDatabaseInstance(config, ctx),
});
