/**
 * Builds the INSERT statements of each mode and dialect with kysely's query builder. Identifiers
 * come from a {@link TablePlan} built from validated config (and checked again there); values are
 * always bound parameters.
 */
import { CompiledQuery, sql, type InsertQueryBuilder } from 'kysely';
import type { ColumnType, SqlValue } from './column-types.js';
import {
  checkedIdentifier,
  quoteIdentifier,
  quoteTable,
  type DialectName,
  type TableName,
} from './identifiers.js';
import { queryBuilder } from './query-builder.js';

/** How rows are written. */
export type WriteMode = 'insert' | 'upsert' | 'dedupe';

/** Everything needed to build statements for one table, checked once. */
export interface TablePlan {
  readonly dialect: DialectName;
  /** The quoted (possibly schema-qualified) table name, for the statements kysely cannot build (COPY). */
  readonly table: string;
  /** Quoted column names, in row order (COPY). */
  readonly columns: readonly string[];
  /** The table as kysely names it: `name` or `schema.name` (checked identifiers). */
  readonly tableRef: string;
  /** The checked column names, in row order. */
  readonly columnNames: readonly string[];
  readonly types: readonly ColumnType[];
  readonly mode: WriteMode;
  /** Positions of the key columns in `columns`. */
  readonly keyIndexes: readonly number[];
}

/**
 * Checks and quotes everything once.
 *
 * @example
 * ```ts
 * const plan = createTablePlan('postgres', { name: 't' }, [{ name: 'id', type: 'bigint' }], 'upsert', ['id']);
 * ```
 */
export function createTablePlan(
  dialect: DialectName,
  table: TableName,
  columns: readonly { name: string; type: ColumnType }[],
  mode: WriteMode,
  key: readonly string[],
): TablePlan {
  const lower = columns.map((c) => c.name.toLowerCase());
  const name = checkedIdentifier(table.name);
  return {
    dialect,
    table: quoteTable(dialect, table),
    columns: columns.map((c) => quoteIdentifier(dialect, c.name)),
    tableRef: table.schema === undefined ? name : `${checkedIdentifier(table.schema)}.${name}`,
    columnNames: columns.map((c) => checkedIdentifier(c.name)),
    types: columns.map((c) => c.type),
    mode,
    keyIndexes: key.map((k) => lower.indexOf(k.toLowerCase())),
  };
}

/** Most bound parameters one statement may carry. */
export function maxParameters(dialect: DialectName): number {
  // PostgreSQL and MySQL count parameters in 16 bits; SQLite's default limit is 32766.
  return dialect === 'sqlite' ? 32_766 : 65_535;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Insert = InsertQueryBuilder<any, string, any>;

/**
 * Makes an INSERT an upsert or a dedupe, per the plan's mode and dialect (plain inserts pass).
 *
 * @example
 * ```ts
 * withConflictClause(plan, db.insertInto('t').values(rows)).compile().sql;
 * // 'insert into "t" ("id", "name") values ($1, $2) on conflict ("id") do update set "name" = "excluded"."name"'
 * ```
 */
export function withConflictClause(plan: TablePlan, insert: Insert): Insert {
  if (plan.mode === 'insert') return insert;
  const keys = plan.keyIndexes.map((i) => plan.columnNames[i]!);
  const others = plan.columnNames.filter((_, i) => !plan.keyIndexes.includes(i));
  if (plan.dialect === 'mysql') {
    // A no-op assignment instead of INSERT IGNORE: IGNORE would also swallow real data errors.
    if (plan.mode === 'dedupe' || others.length === 0)
      return insert.onDuplicateKeyUpdate((eb) => ({ [keys[0]!]: eb.ref(keys[0]!) }));
    // VALUES(col) as a `sql` fragment: kysely has no builder for it, and MariaDB has no
    // `AS new` row alias (MySQL 8.0.19+) to refer to the inserted row otherwise.
    return insert.onDuplicateKeyUpdate(
      Object.fromEntries(others.map((c) => [c, sql`VALUES(${sql.ref(c)})`])),
    );
  }
  return insert.onConflict((oc) => {
    const target = oc.columns(keys);
    if (plan.mode === 'dedupe' || others.length === 0) return target.doNothing();
    return target.doUpdateSet((eb) =>
      Object.fromEntries(others.map((c) => [c, eb.ref(`excluded.${c}`)])),
    );
  });
}

/**
 * The multi-row `INSERT ... VALUES` of `rows` (values in the plan's column order), with the
 * mode's conflict clause, compiled for the plan's dialect.
 *
 * @example
 * ```ts
 * insertValuesQuery(plan, [[1, 'a'], [2, 'b']]).sql;
 * // 'insert into "t" ("id", "name") values ($1, $2), ($3, $4)'
 * ```
 */
export function insertValuesQuery(
  plan: TablePlan,
  rows: readonly (readonly SqlValue[])[],
): CompiledQuery {
  const names = plan.columnNames;
  const values = rows.map((row) => {
    const value: Record<string, SqlValue> = {};
    for (let c = 0; c < names.length; c++) value[names[c]!] = row[c]!;
    return value;
  });
  return withConflictClause(
    plan,
    queryBuilder(plan.dialect).insertInto(plan.tableRef).values(values),
  ).compile();
}

/**
 * {@link insertValuesQuery} for a writer that sends many statements of the same row count (its
 * full chunks, and single rows when isolating bad rows): a statement's text depends only on the
 * plan and its row count, so the text kysely compiled for `rowCounts` is kept and later rows of
 * that count are only bound as its parameters (row after row, as kysely numbers them).
 *
 * @example
 * ```ts
 * const insert = createInsertStatements(plan, [1000, 1]);
 * await trx.executeQuery(insert(chunk));
 * ```
 */
export function createInsertStatements(
  plan: TablePlan,
  rowCounts: readonly number[],
): (rows: readonly (readonly SqlValue[])[]) => CompiledQuery {
  const kept = new Map<number, string | undefined>(rowCounts.map((n) => [n, undefined]));
  return (rows) => {
    const text = kept.get(rows.length);
    if (text !== undefined) return CompiledQuery.raw(text, rows.flat());
    const query = insertValuesQuery(plan, rows);
    if (kept.has(rows.length)) {
      // Kept only when kysely bound exactly the rows' values, in row order.
      const flat = rows.flat();
      if (
        query.parameters.length === flat.length &&
        query.parameters.every((value, i) => Object.is(value, flat[i]))
      )
        kept.set(rows.length, query.sql);
    }
    return query;
  };
}

/**
 * The text of a row's key (the plan's key columns), equal for two rows exactly when their keys
 * are: the one definition of "the same key" of upserts (lastRowPerKey, the COPY while mapping).
 *
 * @example
 * ```ts
 * rowKey(plan)([7, 'a']); // "7" for a single key column `id`
 * ```
 */
export function rowKey(plan: TablePlan): (row: readonly unknown[]) => string {
  const keys = plan.keyIndexes;
  // One key column (the common case): its text is the key, without building an array.
  if (keys.length === 1) {
    const k = keys[0]!;
    return (row) => String(row[k]);
  }
  return (row) => JSON.stringify(keys.map((k) => String(row[k])));
}

/**
 * For upserts: keeps the last row of each key, because one statement may not update the same
 * row twice (PostgreSQL refuses, and "last write wins" is what a sequence of upserts means).
 * Returns the positions of the rows to write, in their original order.
 *
 * @example
 * ```ts
 * lastRowPerKey(plan, [[1, 'a'], [1, 'b']]); // [1]
 * ```
 */
export function lastRowPerKey(plan: TablePlan, rows: readonly (readonly unknown[])[]): number[] {
  if (plan.mode !== 'upsert') return rows.map((_, i) => i);
  const last = new Map<string, number>();
  const keyOf = rowKey(plan);
  for (let i = 0; i < rows.length; i++) last.set(keyOf(rows[i]!), i);
  if (last.size === rows.length) return rows.map((_, i) => i);
  return [...last.values()].sort((a, b) => a - b);
}
