/**
 * Writes the rows of one batch in one transaction, and isolates bad rows when the database
 * refuses the batch for a data reason: it then retries row by row inside savepoints, so only the
 * rows the database rejects fail and every other row is still written in the same transaction.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';
import { FatalError, type RecordFailure } from '@sluice/core';
import type { SqlValue } from './column-types.js';
import { copyRows, unnestRows } from './postgres-bulk.js';
import { classifySqlError, toSluiceError } from './sql-errors.js';
import { insertValuesSql, lastRowPerKey, maxParameters, type TablePlan } from './statements.js';

/** How the writer loads rows. */
export interface WriterOptions {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  plan: TablePlan;
  /** PostgreSQL only: the pool for COPY / unnest. */
  pgPool?: pg.Pool | undefined;
  /** PostgreSQL bulk method for batches of at least `bulkThreshold` rows. */
  bulk?: 'copy' | 'unnest' | 'values';
  bulkThreshold?: number;
}

/** Rows with the index of the record each came from. */
export interface IndexedRows {
  rows: SqlValue[][];
  indexes: number[];
}

/** Upper bound of rows per VALUES statement, to keep statements and their parse time moderate. */
const MAX_ROWS_PER_STATEMENT = 1000;

/**
 * Creates the batch writer for one table.
 *
 * @example
 * ```ts
 * const write = createRowWriter({ db, plan });
 * const failures = await write({ rows: [[1, 'a']], indexes: [0] }, 'writing to "t"');
 * ```
 */
export function createRowWriter(options: WriterOptions): (input: IndexedRows, doing: string) => Promise<RecordFailure[]> {
  const { db, plan } = options;
  const rowsPerStatement = Math.max(
    1,
    Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(maxParameters(plan.dialect) / plan.columns.length)),
  );

  async function writeValues(rows: readonly SqlValue[][]): Promise<void> {
    await db.transaction().execute(async (trx) => {
      for (let start = 0; start < rows.length; start += rowsPerStatement) {
        const chunk = rows.slice(start, start + rowsPerStatement);
        await trx.executeQuery(CompiledQuery.raw(insertValuesSql(plan, chunk.length), chunk.flat()));
      }
    });
  }

  async function writeFast(rows: readonly SqlValue[][]): Promise<void> {
    const pool = options.pgPool;
    if (pool && rows.length >= (options.bulkThreshold ?? Infinity)) {
      if (options.bulk === 'copy') return copyRows(pool, plan, rows);
      if (options.bulk === 'unnest') return unnestRows(pool, plan, rows);
    }
    return writeValues(rows);
  }

  async function writeRowByRow(input: IndexedRows, doing: string): Promise<RecordFailure[]> {
    const failures: RecordFailure[] = [];
    const single = insertValuesSql(plan, 1);
    await db.transaction().execute(async (trx) => {
      for (let i = 0; i < input.rows.length; i++) {
        await trx.executeQuery(CompiledQuery.raw('SAVEPOINT sluice_row'));
        try {
          await trx.executeQuery(CompiledQuery.raw(single, input.rows[i]!));
        } catch (err) {
          if (classifySqlError(plan.dialect, err) !== 'data') throw err;
          await trx.executeQuery(CompiledQuery.raw('ROLLBACK TO SAVEPOINT sluice_row'));
          const message = err instanceof Error ? err.message : String(err);
          failures.push({ index: input.indexes[i]!, error: new FatalError(`${doing}: the database rejected the record: ${message}`, { cause: err }) });
        }
        await trx.executeQuery(CompiledQuery.raw('RELEASE SAVEPOINT sluice_row'));
      }
    });
    return failures;
  }

  return async (input, doing) => {
    const keep = lastRowPerKey(plan, input.rows);
    const rows = keep.length === input.rows.length ? input.rows : keep.map((i) => input.rows[i]!);
    const indexes = keep.length === input.rows.length ? input.indexes : keep.map((i) => input.indexes[i]!);
    if (rows.length === 0) return [];
    try {
      await writeFast(rows);
      return [];
    } catch (err) {
      if (classifySqlError(plan.dialect, err) !== 'data') throw toSluiceError(plan.dialect, err, doing);
    }
    try {
      return await writeRowByRow({ rows, indexes }, doing);
    } catch (err) {
      throw toSluiceError(plan.dialect, err, doing);
    }
  };
}
