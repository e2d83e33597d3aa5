/**
 * Builds the INSERT statements of each mode and dialect. Identifiers come pre-quoted from a
 * {@link TablePlan} built from validated config; values are always placeholders.
 */
import type { ColumnType } from './column-types.js';
import { quoteIdentifier, quoteTable, type DialectName, type TableName } from './identifiers.js';

/** How rows are written. */
export type WriteMode = 'insert' | 'upsert' | 'dedupe';

/** Everything needed to build statements for one table, quoted once. */
export interface TablePlan {
  readonly dialect: DialectName;
  /** The quoted (possibly schema-qualified) table name. */
  readonly table: string;
  /** Quoted column names, in row order. */
  readonly columns: readonly string[];
  readonly types: readonly ColumnType[];
  readonly mode: WriteMode;
  /** Positions of the key columns in `columns`. */
  readonly keyIndexes: readonly number[];
}

/**
 * Quotes everything once.
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
  return {
    dialect,
    table: quoteTable(dialect, table),
    columns: columns.map((c) => quoteIdentifier(dialect, c.name)),
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

/**
 * The clause that makes an INSERT an upsert or a dedupe, or '' for plain inserts.
 *
 * @example
 * ```ts
 * conflictClause(plan); // ' ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name"'
 * ```
 */
export function conflictClause(plan: TablePlan): string {
  if (plan.mode === 'insert') return '';
  const keys = plan.keyIndexes.map((i) => plan.columns[i]!);
  const others = plan.columns.filter((_, i) => !plan.keyIndexes.includes(i));
  if (plan.dialect === 'mysql') {
    // A no-op assignment instead of INSERT IGNORE: IGNORE would also swallow real data errors.
    if (plan.mode === 'dedupe' || others.length === 0)
      return ` ON DUPLICATE KEY UPDATE ${keys[0]} = ${keys[0]}`;
    return ` ON DUPLICATE KEY UPDATE ${others.map((c) => `${c} = VALUES(${c})`).join(', ')}`;
  }
  const target = ` ON CONFLICT (${keys.join(', ')})`;
  if (plan.mode === 'dedupe' || others.length === 0) return `${target} DO NOTHING`;
  return `${target} DO UPDATE SET ${others.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
}

/**
 * A multi-row `INSERT ... VALUES` for `rowCount` rows, with the mode's conflict clause.
 *
 * @example
 * ```ts
 * insertValuesSql(plan, 2); // 'INSERT INTO "t" ("id", "name") VALUES ($1, $2), ($3, $4)'
 * ```
 */
export function insertValuesSql(plan: TablePlan, rowCount: number): string {
  const width = plan.columns.length;
  const tuples: string[] = new Array<string>(rowCount);
  let n = 0;
  for (let r = 0; r < rowCount; r++) {
    const cells: string[] = new Array<string>(width);
    for (let c = 0; c < width; c++) cells[c] = plan.dialect === 'postgres' ? `$${++n}` : '?';
    tuples[r] = `(${cells.join(', ')})`;
  }
  return `INSERT INTO ${plan.table} (${plan.columns.join(', ')}) VALUES ${tuples.join(', ')}${conflictClause(plan)}`;
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
  const keys = plan.keyIndexes;
  if (keys.length === 1) {
    // One key column (the common case): its text is the map key, without building an array.
    const k = keys[0]!;
    for (let i = 0; i < rows.length; i++) last.set(String(rows[i]![k]), i);
  } else {
    for (let i = 0; i < rows.length; i++)
      last.set(JSON.stringify(keys.map((k) => String(rows[i]![k]))), i);
  }
  if (last.size === rows.length) return rows.map((_, i) => i);
  return [...last.values()].sort((a, b) => a - b);
}
