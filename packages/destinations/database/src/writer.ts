/**
 * Writes the rows of one batch in one transaction, and isolates bad rows when the database
 * refuses the batch for a data reason: it then retries row by row inside savepoints, so only the
 * rows the database rejects fail and every other row is still written in the same transaction.
 * With a delivery ledger, each of those transactions claims the batch id first (see ledger.ts).
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type pg from 'pg';
import { FatalError, type RecordFailure } from '@sluice/core';
import type { SqlValue } from './column-types.js';
import type { BatchLedger, LedgerBatch, LedgerExecute } from './ledger.js';
import { copyRows, unnestRows, type CopyRows } from './postgres-bulk.js';
import { classifySqlError, toSluiceError } from './errors.js';
import {
  createInsertStatements,
  lastRowPerKey,
  maxParameters,
  rowKey,
  type TablePlan,
} from './statements.js';

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
  /** Insert mode: the delivery ledger that makes a repeated batch id a no-op. */
  ledger?: BatchLedger | undefined;
}

/**
 * What writing a batch did: the rows the database rejected, or — for a batch id the ledger
 * already holds — nothing, with the indexes the database rejected when it was first written.
 */
export type WriteOutcome =
  | { readonly repeat: false; readonly failures: RecordFailure[] }
  | { readonly repeat: true; readonly failed: readonly number[] };

/** A batch write: its rows, and the batch (id and record keys) the ledger keys it by. */
export type RowWriter = (
  input: IndexedRows,
  doing: string,
  batch: LedgerBatch,
) => Promise<WriteOutcome>;

/**
 * Rows mapped from a batch's records while COPY sends them, so PostgreSQL parses one chunk while
 * Node maps the next (mapping first, then copying, left one of the two idle at a time). Each
 * iteration maps the records from the first; it throws when a record cannot be written as
 * mapped (it needs a table change).
 */
export interface RowsWhileMapping extends CopyRows {
  /** The number of records of the batch (the most rows there can be). */
  readonly records: number;
  /** The rows the last complete pass yielded. */
  readonly written: number;
}

/**
 * A COPY of rows mapped while they are sent: resolves true when the batch was written (every
 * row, in one transaction), false when nothing was written and the batch is to be mapped and
 * written the usual way — a record needing a table change, a key repeated within the batch, a
 * batch id the ledger already holds, a row the database refuses, any error.
 */
export type WhileMappingWriter = (input: RowsWhileMapping, batch: LedgerBatch) => Promise<boolean>;

/** The writers of one table: by mapped rows, and (PostgreSQL COPY) while mapping. */
export interface TableWriter {
  readonly write: RowWriter;
  /** Absent where there is no COPY (MySQL, SQLite, other bulk methods). */
  readonly writeWhileMapping?: WhileMappingWriter;
}

/** Thrown into a COPY to stop it: a repeated key that the batch's upsert must first collapse. */
class RepeatedKey extends Error {}

/**
 * The rows of an upsert, stopped at the first key seen twice: such a batch is written the usual
 * way, which keeps the last row of each key (lastRowPerKey).
 */
function* withoutRepeatedKeys(plan: TablePlan, rows: CopyRows): Generator<readonly SqlValue[]> {
  const keyOf = rowKey(plan);
  const seen = new Set<string>();
  for (const row of rows) {
    const key = keyOf(row);
    if (seen.has(key)) throw new RepeatedKey();
    seen.add(key);
    yield row;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function kyselyExecute(trx: Transaction<any>): LedgerExecute {
  return async (sql, parameters) => {
    const result = await trx.executeQuery(CompiledQuery.raw(sql, [...parameters]));
    return {
      rows: result.rows as Record<string, unknown>[],
      affected: Number(result.numAffectedRows ?? 0n),
    };
  };
}

function pgExecute(client: pg.PoolClient): LedgerExecute {
  return async (sql, parameters) => {
    const result = await client.query(sql, [...parameters]);
    return { rows: result.rows as Record<string, unknown>[], affected: result.rowCount ?? 0 };
  };
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
 * const { write } = createRowWriter({ db, plan });
 * const outcome = await write({ rows: [[1, 'a']], indexes: [0] }, 'writing to "t"', batch);
 * ```
 */
export function createRowWriter(options: WriterOptions): TableWriter {
  const { db, plan, ledger } = options;
  const rowsPerStatement = Math.max(
    1,
    Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(maxParameters(plan.dialect) / plan.columns.length)),
  );
  // Full chunks and single rows (bad-row isolation) reuse their compiled statement text.
  const insert = createInsertStatements(plan, [rowsPerStatement, 1]);

  /** Claims the batch in a transaction; false (and `found` set) when the ledger already holds it. */
  type Claim = (execute: LedgerExecute) => Promise<boolean>;

  async function writeValues(rows: readonly SqlValue[][], claim: Claim | undefined): Promise<void> {
    await db.transaction().execute(async (trx) => {
      if (claim && !(await claim(kyselyExecute(trx)))) return;
      for (let start = 0; start < rows.length; start += rowsPerStatement) {
        await trx.executeQuery(insert(rows.slice(start, start + rowsPerStatement)));
      }
    });
  }

  async function writeFast(rows: readonly SqlValue[][], claim: Claim | undefined): Promise<void> {
    const pool = options.pgPool;
    if (pool && rows.length >= (options.bulkThreshold ?? Infinity)) {
      // The ledger row goes into the COPY's own transaction, on the same raw client.
      const before = claim && ((client: pg.PoolClient) => claim(pgExecute(client)));
      if (options.bulk === 'copy') return copyRows(pool, plan, rows, before);
      if (options.bulk === 'unnest') return unnestRows(pool, plan, rows, before);
    }
    return writeValues(rows, claim);
  }

  async function writeRowByRow(
    input: IndexedRows,
    doing: string,
    claim: Claim | undefined,
    batch: LedgerBatch,
  ): Promise<RecordFailure[]> {
    const failures: RecordFailure[] = [];
    await db.transaction().execute(async (trx) => {
      const execute = kyselyExecute(trx);
      if (claim && !(await claim(execute))) return;
      for (let i = 0; i < input.rows.length; i++) {
        // Raw savepoints: kysely's savepoint() belongs to its controlled transactions only.
        await trx.executeQuery(CompiledQuery.raw('SAVEPOINT sluice_row'));
        try {
          await trx.executeQuery(insert([input.rows[i]!]));
        } catch (err) {
          if (classifySqlError(plan.dialect, err) !== 'data') throw err;
          await trx.executeQuery(CompiledQuery.raw('ROLLBACK TO SAVEPOINT sluice_row'));
          const message = err instanceof Error ? err.message : String(err);
          failures.push({
            index: input.indexes[i]!,
            error: new FatalError(`${doing}: the database rejected the record: ${message}`, {
              cause: err,
            }),
          });
        }
        await trx.executeQuery(CompiledQuery.raw('RELEASE SAVEPOINT sluice_row'));
      }
      // The batch id is ledgered with the rows that were written, even when some were rejected:
      // the rejections are final (data errors, not retried), so a repeat of this batch must
      // neither write the good rows again nor forget the bad ones — it reports the same indexes.
      // A partial retry (`<id>-r<n>`: the router resends only records whose failure was
      // retryable, which this writer never reports, though a replay of dead letters sends a
      // subset too) has an id and record keys of its own, hence a ledger row of its own: it
      // writes its records once, and neither hides nor repeats the rows committed here.
      if (claim && ledger && failures.length > 0) {
        await ledger.recordFailures(
          execute,
          batch,
          input.rows.length - failures.length,
          failures.map((f) => f.index),
        );
      }
    });
    return failures;
  }

  const write: RowWriter = async (input, doing, batch) => {
    const keep = lastRowPerKey(plan, input.rows);
    const rows = keep.length === input.rows.length ? input.rows : keep.map((i) => input.rows[i]!);
    const indexes =
      keep.length === input.rows.length ? input.indexes : keep.map((i) => input.indexes[i]!);
    if (rows.length === 0) return { repeat: false, failures: [] };
    let found: readonly number[] | undefined;
    const claim: Claim | undefined =
      ledger &&
      (async (execute) => {
        const claimed = await ledger.claim(execute, batch, rows.length);
        found = claimed.repeat ? claimed.failed : undefined;
        return !claimed.repeat;
      });
    try {
      await writeFast(rows, claim);
      return found ? { repeat: true, failed: found } : { repeat: false, failures: [] };
    } catch (err) {
      if (classifySqlError(plan.dialect, err) !== 'data')
        throw toSluiceError(plan.dialect, err, doing);
    }
    // The failed transaction rolled its ledger claim back with its rows: this one claims again.
    try {
      const failures = await writeRowByRow({ rows, indexes }, doing, claim, batch);
      return found ? { repeat: true, failed: found } : { repeat: false, failures };
    } catch (err) {
      throw toSluiceError(plan.dialect, err, doing);
    }
  };

  const pool = options.pgPool;
  if (!pool || options.bulk !== 'copy') return { write };
  const threshold = options.bulkThreshold ?? Infinity;
  const writeWhileMapping: WhileMappingWriter = async (input, batch) => {
    if (input.records < threshold) return false;
    let repeat = false;
    const before =
      ledger &&
      (async (client: pg.PoolClient) => {
        const claimed = await ledger.claim(pgExecute(client), batch, input.records);
        repeat = claimed.repeat;
        return !claimed.repeat;
      });
    // The ledger row was claimed before the records were mapped: it counts the rows written.
    const after =
      ledger &&
      (async (client: pg.PoolClient) => {
        if (input.written !== input.records)
          await ledger.recordFailures(pgExecute(client), batch, input.written, []);
      });
    const rows =
      plan.mode === 'upsert'
        ? { [Symbol.iterator]: () => withoutRepeatedKeys(plan, input) }
        : input;
    try {
      await copyRows(pool, plan, rows, before, after);
    } catch {
      // The transaction rolled back: the usual path maps the batch again and tells the error
      // apart (a row to isolate, a table change, a connection to retry).
      return false;
    }
    // A repeat committed nothing but its probe; the usual path reports what the ledger holds.
    return !repeat;
  };
  return { write, writeWhileMapping };
}
