/**
 * The `database` destination: writes each batch to one table of PostgreSQL, MySQL/MariaDB or
 * SQLite in one transaction, in `insert`, `upsert` or `dedupe` mode; in insert mode the same
 * transaction records the batch id in a delivery ledger, so a repeated batch is skipped.
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
import { databaseConfigSchema, usesLedger, type DatabaseConfig } from './config.js';
import { openDatabase, type DatabaseHandle } from './connect.js';
import { createTableStatements } from './ddl.js';
import { quoteIdentifier, type TableName } from './identifiers.js';
import { createBatchLedger, createLedgerPruning, createLedgerTable } from './ledger.js';
import { createRowMapper, RecordRowError } from './row-mapper.js';
import { toSluiceError } from './errors.js';
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
  const mapRow = createRowMapper(
    config.dialect,
    config.columns,
    new Set(
      key.map((k) => config.columns.find((c) => c.name.toLowerCase() === k.toLowerCase())!.name),
    ),
  );
  const logger = ctx.logger.child({
    destination: 'database',
    dialect: config.dialect,
    table: config.table,
  });
  const rowsWritten = ctx.metrics.counter({
    name: 'destination_database_rows_total',
    help: 'Rows written by the database destination, by table and outcome',
    labelNames: ['table', 'outcome'],
  });
  const batchesWritten = ctx.metrics.counter({
    name: 'destination_database_batches_total',
    help: 'Batches handled by the database destination, by table and outcome (written, or repeat: already in the delivery ledger, skipped)',
    labelNames: ['table', 'outcome'],
  });
  const doing = `writing to ${config.dialect} table "${config.table}"`;
  const ledger = usesLedger(config)
    ? createBatchLedger(config.dialect, table, config.table, config.ledgerTable, () =>
        ctx.clock.now(),
      )
    : undefined;
  const ledgerPruning = createLedgerPruning(ledger, config.ledgerRetentionDays, ctx.clock, logger);

  let handle: Promise<DatabaseHandle> | undefined;
  let ready: Promise<void> | undefined;
  let closed = false;
  let write: ReturnType<typeof createRowWriter> | undefined;

  function connection(): Promise<DatabaseHandle> {
    if (closed) return Promise.reject(new FatalError('the database destination is closed'));
    handle ??= openDatabase(config, logger);
    return handle;
  }

  async function prepare(): Promise<void> {
    const { db, pgPool } = await connection();
    if (config.createTable) {
      try {
        for (const statement of createTableStatements(
          config.dialect,
          table,
          config.columns,
          config.mode === 'insert' ? (config.key ?? []) : key,
        )) {
          await db.executeQuery(CompiledQuery.raw(statement));
        }
      } catch (err) {
        throw toSluiceError(config.dialect, err, `creating table "${config.table}"`);
      }
    }
    if (ledger) {
      await createLedgerTable(db, ledger, config.dialect);
      ledgerPruning.start(db);
    }
    write = createRowWriter({
      db,
      plan,
      pgPool,
      ledger,
      ...(config.dialect === 'postgres'
        ? { bulk: config.bulk, bulkThreshold: config.bulkThreshold }
        : {}),
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
    // With createTable the table is made (or found) before the first batch, as before the ledger.
    // Otherwise nothing is touched until the first write, so an unreachable database makes the
    // batches retry and dead-letter rather than fail the run before it reads (the ledger table
    // is created on that first write).
    open: async () => {
      if (config.createTable) await ensureReady();
    },

    async write(batch: Batch, options: WriteOptions): Promise<void> {
      if (options.signal.aborted)
        throw new RetryableError('write cancelled before it started', {
          cause: options.signal.reason,
        });
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
          failures.push({
            index,
            error: new FatalError(err.message, {
              details: { column: err.column, field: err.field },
            }),
          });
        }
      });
      const outcome = await write!({ rows, indexes }, doing, batch);
      if (outcome.repeat) {
        // Committed before (this batch's ledger row exists): nothing was written now. Indexes
        // the database rejected then are reported again, so they are not silently acknowledged.
        batchesWritten.inc({ table: config.table, outcome: 'repeat' });
        logger.info(
          { batch: batch.id, attempt: batch.attempt },
          'batch already written (delivery ledger); skipped as a repeat',
        );
        for (const index of outcome.failed) {
          failures.push({
            index,
            error: new FatalError(
              `${doing}: the database rejected the record when batch "${batch.id}" was first written`,
            ),
          });
        }
      } else {
        failures.push(...outcome.failures);
        batchesWritten.inc({ table: config.table, outcome: 'written' });
        rowsWritten.inc(
          { table: config.table, outcome: 'written' },
          rows.length - outcome.failures.length,
        );
        ledgerPruning.due();
      }
      if (failures.length > 0) {
        rowsWritten.inc({ table: config.table, outcome: 'failed' }, failures.length);
        logger.warn({ batch: batch.id, failed: failures.length }, 'records rejected');
        throw new PartialBatchError(failures);
      }
    },

    async check(): Promise<CheckResult> {
      try {
        const { db } = await connection();
        const columns = config.columns
          .map((c) => quoteIdentifier(config.dialect, c.name))
          .join(', ');
        await db.executeQuery(
          CompiledQuery.raw(`SELECT ${columns} FROM ${plan.table} WHERE 1 = 0`),
        );
        return {
          ok: true,
          message: `table "${config.table}" is reachable and has every declared column`,
        };
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
      await ledgerPruning.settled();
      // A pool that never opened (its driver is missing) has nothing to close.
      await open?.then(
        (opened) => opened.destroy(),
        () => undefined,
      );
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
  description:
    'Writes records to a PostgreSQL, MySQL/MariaDB or SQLite table (insert, upsert or dedupe).',
  configSchema: databaseConfigSchema,
  capabilities: (config) => ({
    maxBatch: config.maxBatch,
    // SQLite has a single writer: concurrent batches would only queue.
    maxInFlight: config.dialect === 'sqlite' ? 1 : config.maxInFlight,
    // Upserts and dedupes leave the same rows when a batch is written twice; plain inserts do
    // so through the delivery ledger, keyed by batch id — which is why the router must cut every
    // attempt's batches alike (idempotency 'batch').
    idempotent: config.mode !== 'insert' || usesLedger(config),
    ...(config.mode !== 'insert'
      ? { idempotency: 'content' as const }
      : usesLedger(config)
        ? { idempotency: 'batch' as const }
        : {}),
  }),
  create: (config, ctx) => createDatabaseInstance(config, ctx),
});
