/**
 * Fast paths for large batches on PostgreSQL: COPY FROM STDIN (straight into the table for
 * inserts; into a temporary staging table followed by INSERT ... SELECT ... ON CONFLICT for
 * upserts and dedupes), or one INSERT ... SELECT FROM unnest(...) with an array per column.
 * Each runs in one transaction.
 */
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import pgCopy from 'pg-copy-streams';
import { sql, type CompiledQuery } from 'kysely';
import { ddlType, postgresArrayType, type ColumnType, type SqlValue } from './column-types.js';
import { quoteIdentifier } from './identifiers.js';
import { queryBuilder } from './query-builder.js';
import { withConflictClause, type TablePlan } from './statements.js';

const STAGE = 'sluice_stage';
const SPECIAL = /[\\\n\r\t]/;

function copyText(value: SqlValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value !== 'string') return String(value);
  if (!SPECIAL.test(value)) return value;
  return value.replace(/[\\\n\r\t]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t',
  );
}

/** Values of these types never hold a backslash, tab or line break: written without escaping. */
function copyPlain(value: SqlValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return typeof value === 'string' ? value : String(value);
}

/** Rows to COPY: an array, or rows mapped while they are sent (iterable more than once). */
export type CopyRows = Iterable<readonly SqlValue[]>;

function* copyChunks(types: readonly ColumnType[], rows: CopyRows): Generator<string> {
  // Only text and json values can need escaping; every other type was converted to a number,
  // a boolean or a checked literal (decimal, date, ISO timestamp) by the row mapper.
  const encode = types.map((type) => (type === 'text' || type === 'json' ? copyText : copyPlain));
  const width = types.length;
  // ~64 KiB chunks: few enough writes to be cheap, and small enough that PostgreSQL parses one
  // chunk while the next is mapped and encoded (a batch of 10 000 rows is ~10 of them).
  let chunk = '';
  for (const row of rows) {
    let line = encode[0]!(row[0]!);
    for (let c = 1; c < width; c++) line += '\t' + encode[c]!(row[c]!);
    chunk += line + '\n';
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

/**
 * Sends the rows' COPY text to `statement` (a `COPY ... FROM STDIN`), waiting for the socket to
 * drain when it is full. Written by hand rather than piped through `Readable.from`: the stream
 * machinery between the chunk generator and the socket cost ~4 % of the CPU of a large load.
 * A row source that throws (a record that needs a table change) aborts the COPY (CopyFail).
 */
async function copyInto(
  client: pg.PoolClient,
  statement: string,
  types: readonly ColumnType[],
  rows: CopyRows,
): Promise<void> {
  const stream = client.query(pgCopy.from(statement));
  // Settles when the server has acknowledged the COPY, or on its first error.
  const ended = finished(stream);
  ended.catch(() => {}); // awaited below; an error before then is rethrown from there
  try {
    for (const chunk of copyChunks(types, rows)) {
      if (stream.destroyed) break;
      if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), ended]);
    }
  } catch (error) {
    stream.destroy(error as Error);
    throw error;
  }
  if (!stream.destroyed) stream.end();
  await ended;
}

/**
 * How an upsert/dedupe table has fared with a direct COPY: batches to stage before trying again.
 * A batch whose keys are all new is written exactly as the upsert would write it, so a direct
 * COPY (inside a savepoint) saves the staging table and the INSERT ... SELECT — half the work of
 * a first load or a backfill. A unique violation rolls back to the savepoint and stages the
 * batch; after one, the next batches stage straight away (1, 2, 4 … up to 64 of them) so a
 * table that is mostly updated pays for a failed COPY rarely.
 */
const directCopy = new WeakMap<TablePlan, { skip: number; backoff: number }>();
const MAX_DIRECT_BACKOFF = 64;
const UNIQUE_VIOLATION = '23505';

async function copyWithoutConflicts(
  client: pg.PoolClient,
  plan: TablePlan,
  rows: CopyRows,
): Promise<boolean> {
  let state = directCopy.get(plan);
  if (!state) directCopy.set(plan, (state = { skip: 0, backoff: 1 }));
  if (state.skip > 0) {
    state.skip--;
    return false;
  }
  await client.query('SAVEPOINT sluice_direct_copy');
  try {
    await copyInto(
      client,
      `COPY ${plan.table} (${plan.columns.join(', ')}) FROM STDIN`,
      plan.types,
      rows,
    );
  } catch (err) {
    if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
    await client.query('ROLLBACK TO SAVEPOINT sluice_direct_copy');
    state.skip = state.backoff;
    state.backoff = Math.min(MAX_DIRECT_BACKOFF, state.backoff * 2);
    return false;
  }
  await client.query('RELEASE SAVEPOINT sluice_direct_copy');
  state.backoff = 1;
  return true;
}

/**
 * The staging table of a COPY upsert and the INSERT ... SELECT that moves its rows into the
 * target with the mode's conflict clause. The staging table has only the declared columns,
 * without the target's constraints: the constraints are checked by the INSERT ... SELECT.
 */
function stagedUpsert(plan: TablePlan): { createStage: CompiledQuery; fromStage: CompiledQuery } {
  const db = queryBuilder('postgres');
  let stage = db.schema.createTable(STAGE).temporary().onCommit('drop');
  plan.columnNames.forEach((name, i) => {
    // ddlType's fixed spellings (never config text), as in ddl.ts.
    stage = stage.addColumn(name, sql.raw(ddlType('postgres', plan.types[i]!, false)));
  });
  const fromStage = withConflictClause(
    plan,
    db
      .insertInto(plan.tableRef)
      .columns(plan.columnNames)
      .expression(db.selectFrom(STAGE).select(plan.columnNames)),
  );
  return { createStage: stage.compile(), fromStage: fromStage.compile() };
}

async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      // The connection itself is gone: do not hand it back to the pool.
      broken = rollbackError as Error;
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * Runs first in the transaction of a bulk write (the delivery ledger's claim); resolving `false`
 * leaves the rows unwritten and commits whatever it did.
 */
export type BeforeRows = (client: pg.PoolClient) => Promise<boolean>;

/** Runs last in the transaction of a bulk write, after its rows (e.g. a ledger correction). */
export type AfterRows = (client: pg.PoolClient) => Promise<void>;

/**
 * Writes rows with COPY, in one transaction (after `before` and before `after`, when given).
 * `rows` may be mapped while they are sent; an upsert whose direct COPY meets an existing key
 * iterates them a second time into its staging table.
 *
 * @example
 * ```ts
 * await copyRows(pool, plan, [[1, 'a'], [2, 'b']]);
 * ```
 */
export async function copyRows(
  pool: pg.Pool,
  plan: TablePlan,
  rows: CopyRows,
  before?: BeforeRows,
  after?: AfterRows,
): Promise<void> {
  // The COPY statements stay SQL text: kysely has no COPY.
  const columns = plan.columns.join(', ');
  await inTransaction(pool, async (client) => {
    if (before && !(await before(client))) return;
    if (plan.mode === 'insert') {
      await copyInto(client, `COPY ${plan.table} (${columns}) FROM STDIN`, plan.types, rows);
    } else if (!(await copyWithoutConflicts(client, plan, rows))) {
      await copyStaged(client, plan, rows);
    }
    await after?.(client);
  });
}

/** An upsert/dedupe through the staging table: COPY into it, then INSERT ... SELECT from it. */
async function copyStaged(client: pg.PoolClient, plan: TablePlan, rows: CopyRows): Promise<void> {
  const { createStage, fromStage } = stagedUpsert(plan);
  await client.query(createStage.sql);
  await copyInto(
    client,
    `COPY ${quoteIdentifier('postgres', STAGE)} (${plan.columns.join(', ')}) FROM STDIN`,
    plan.types,
    rows,
  );
  await client.query(fromStage.sql);
}

/**
 * Writes rows with one `INSERT ... SELECT * FROM unnest($1::type[], ...)`, in one transaction
 * (after `before`, when given).
 *
 * @example
 * ```ts
 * await unnestRows(pool, plan, [[1, 'a'], [2, 'b']]);
 * ```
 */
export async function unnestRows(
  pool: pg.Pool,
  plan: TablePlan,
  rows: readonly (readonly SqlValue[])[],
  before?: BeforeRows,
): Promise<void> {
  const db = queryBuilder('postgres');
  // unnest(...) in FROM as a `sql` fragment: kysely builds no table-function source; each column's
  // values travel as one array parameter cast to its type.
  const arrays = plan.columnNames.map(
    (_, c) => sql`${rows.map((row) => row[c]!)}::${sql.raw(postgresArrayType(plan.types[c]!))}`,
  );
  const query = withConflictClause(
    plan,
    db
      .insertInto(plan.tableRef)
      .columns(plan.columnNames)
      .expression(sql`SELECT * FROM unnest(${sql.join(arrays)})`),
  ).compile();
  await inTransaction(pool, async (client) => {
    if (before && !(await before(client))) return;
    await client.query(query.sql, [...query.parameters]);
  });
}
