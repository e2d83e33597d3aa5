/**
 * `CREATE TABLE IF NOT EXISTS` from the declared column list, for the optional automatic table
 * creation. Only identifiers from validated config reach the statement.
 */
import { ddlType, type ColumnType } from './column-types.js';
import { quoteIdentifier, quoteTable, type DialectName, type TableName } from './identifiers.js';

/** A column as the DDL needs it. */
export interface DdlColumn {
  name: string;
  type: ColumnType;
  nullable: boolean;
  primaryKey: boolean;
}

/**
 * The statements that create the table (and, on PostgreSQL, its schema) when missing. The
 * primary key is the columns flagged `primaryKey`; an upsert/dedupe `key` that differs from it
 * gets its own UNIQUE constraint, which ON CONFLICT / ON DUPLICATE KEY need.
 *
 * @example
 * ```ts
 * createTableStatements('postgres', { name: 't' }, [{ name: 'id', type: 'bigint', nullable: false, primaryKey: true }], []);
 * // ['CREATE TABLE IF NOT EXISTS "t" ("id" bigint NOT NULL, PRIMARY KEY ("id"))']
 * ```
 */
export function createTableStatements(
  dialect: DialectName,
  table: TableName,
  columns: readonly DdlColumn[],
  key: readonly string[],
): string[] {
  const q = (name: string) => quoteIdentifier(dialect, name);
  const keyLower = new Set(key.map((k) => k.toLowerCase()));
  const primary = columns.filter((c) => c.primaryKey).map((c) => c.name);
  const primaryLower = new Set(primary.map((k) => k.toLowerCase()));
  const parts = columns.map((c) => {
    const keyed = c.primaryKey || keyLower.has(c.name.toLowerCase());
    const notNull = !c.nullable || keyed;
    return `${q(c.name)} ${ddlType(dialect, c.type, keyed)}${notNull ? ' NOT NULL' : ''}`;
  });
  if (primary.length > 0) parts.push(`PRIMARY KEY (${primary.map(q).join(', ')})`);
  const sameAsPrimary =
    key.length === primary.length && key.every((k) => primaryLower.has(k.toLowerCase()));
  if (key.length > 0 && !sameAsPrimary) parts.push(`UNIQUE (${key.map(q).join(', ')})`);
  const statements: string[] = [];
  if (dialect === 'postgres' && table.schema !== undefined) {
    statements.push(`CREATE SCHEMA IF NOT EXISTS ${q(table.schema)}`);
  }
  statements.push(`CREATE TABLE IF NOT EXISTS ${quoteTable(dialect, table)} (${parts.join(', ')})`);
  return statements;
}
